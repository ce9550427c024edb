/**
 * createApp(): the worker's routes and middleware, and the one place errors become responses.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { timing } from 'hono/timing';
import { GuardError, errorBody } from './errors.ts';
import { sharedRegistry, type ModelRegistry } from './guard/registry.ts';
import type { AppEnv } from './http/app-env.ts';
import { limitBody } from './http/read-json.ts';
import { MODEL_HEADER } from './http/headers.ts';
import { createChatRoute } from './routes/chat.ts';
import { createClassifyRoute } from './routes/classify.ts';
import { createHealthRoute } from './routes/health.ts';
import { createModelsRoute } from './routes/models.ts';
import { createModerationsRoute } from './routes/moderations.ts';
import { createPlaygroundRoute } from './routes/playground.ts';
import { createReportRoute } from './routes/report.ts';
import { sharedKeyStore, type KeyStore } from './auth/key-store.ts';
import { apiKeyAuth } from './middleware/api-key.ts';
import { corsFromEnv } from './middleware/cors.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestLog } from './middleware/request-log.ts';

export interface AppOptions {
  /** Where models come from. Default: the isolate's shared registry (one per isolate). */
  registry?: ModelRegistry;
  /** Where API keys are looked up (and cached). Default: the isolate's shared key store. */
  keys?: KeyStore;
}

const ROUTES: Record<string, string> = {
  '/': 'GET',
  '/healthz': 'GET',
  '/v1/models': 'GET',
  '/v1/models/:version/report': 'GET',
  '/v1/moderations': 'POST',
  '/v1/classify': 'POST',
  '/v1/chat/completions': 'POST',
};

/**
 * Builds the EdgeGuard API.
 * @example
 * const app = createApp({ registry: createRegistry({ refreshMs: 0 }) });
 * const res = await app.request('/healthz', {}, env);
 */
export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const registry = options.registry ?? sharedRegistry();
  const keys = options.keys ?? sharedKeyStore();
  const app = new Hono<AppEnv>();

  app.use(requestLog({ routes: Object.keys(ROUTES) }));
  app.use(corsFromEnv());
  app.use(timing({ total: true }));
  app.use(async (c, next) => {
    await next();
    const model = registry.peek();
    if (model && !c.res.headers.has(MODEL_HEADER)) c.res.headers.set(MODEL_HEADER, model.manifest.version);
  });
  // who may call, how often, and how much they may send: before any body is read
  app.use('/v1/*', apiKeyAuth({ store: keys }));
  // open to health checks; a key holder sees more (loaded versions, load errors)
  app.use('/healthz', apiKeyAuth({ store: keys, optional: true }));
  app.use('/v1/*', rateLimit());
  app.use('/v1/*', limitBody());

  // HTML pages (issue 7): the playground answers browsers at GET /, before the JSON index
  app.route('/', createPlaygroundRoute());
  app.route('/', createReportRoute(registry));
  for (const route of [createHealthRoute, createModelsRoute, createModerationsRoute, createClassifyRoute, createChatRoute]) {
    app.route('/', route(registry, keys));
  }
  for (const [path, method] of Object.entries(ROUTES)) {
    app.all(path, (c) => {
      throw new GuardError(405, 'method_not_allowed', `${c.req.method} ${path} is not supported; use ${method}`);
    });
  }

  // The path is the caller's: not echoed back (nor logged, see requestLog)
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} on this path; GET / lists the endpoints`), 404));
  app.onError((error, c) => {
    if (error instanceof GuardError || error instanceof HTTPException) {
      const response = error.getResponse();
      if (error instanceof GuardError) return response;
      // Hono's own exceptions (none expected) still answer in our JSON shape.
      return c.json(errorBody('invalid_request', error.message || response.statusText), response.status as 400);
    }
    const { message, stack } = error as Error;
    console.error(JSON.stringify({ level: 'error', event: 'unhandled_error', requestId: c.var.requestId, message, stack }));
    return c.json(errorBody('internal_error', 'internal error; the request was not scored'), 500);
  });
  return app;
}
