/**
 * `requestLog()`: a request id on every response (`x-request-id`: the caller's when well formed,
 * else a new UUID) and one structured log line per request (console.log JSON, which Workers Logs
 * indexes): id, method, path, status, error code, key name, model version, P(harmful) per text,
 * latency. Never the texts: a request's content stays out of the logs. Nor a path no route serves:
 * the caller chooses it (`/<script>…`), so the log names it by a fixed token.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import { GuardError } from '../errors.ts';
import { MODEL_HEADER, REQUEST_ID_HEADER } from '../http/headers.ts';

/** What the log says instead of a path that matches none of the app's routes. */
export const UNMATCHED_PATH = '<unmatched>';

/** What a caller may send as its own id: 1-128 of letters, digits and `._:-`, no spaces. */
const WELL_FORMED_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id, as sent back in `x-request-id`. */
    requestId: string;
    /** P(harmful) of each scored text, for the log (set by the scoring routes). */
    scores: number[];
  }
}

/** One request's log record; `scores` only when texts were scored. */
export interface RequestLogRecord {
  level: 'info' | 'error';
  event: 'request';
  requestId: string;
  method: string;
  /** The request's path when it matches one of the app's routes, else UNMATCHED_PATH. */
  path: string;
  status: number;
  /** The error code of a failed request. */
  error?: string;
  /** The API key's name; `null` when the API runs open or the key was refused. */
  key: string | null;
  /** The model version that served it, when one did. */
  model: string | null;
  scores?: number[];
  latencyMs: number;
}

const round = (score: number) => Math.round(score * 10_000) / 10_000;

/** The code of an error thrown while handling the request (4xx answered with c.json carry none). */
function errorCodeOf(c: Context): string | undefined {
  if (!c.error) return undefined;
  return c.error instanceof GuardError ? c.error.code : 'internal_error';
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether a path matches one of the routes (Hono patterns). A `:param` matches one segment of
 * letters, digits, `.`, `_` and `-` only: what the worker accepts as a name, so a route's path
 * with anything else in it (`/v1/models/<b>/report`) is not logged either.
 */
function routeMatcher(routes: readonly string[]): (path: string) => boolean {
  const patterns = routes.map(
    (route) =>
      new RegExp(
        `^${route
          .split('/')
          .map((part) => (part.startsWith(':') ? '[A-Za-z0-9._-]+' : escapeRegExp(part)))
          .join('/')}$`,
      ),
  );
  return (path) => patterns.some((pattern) => pattern.test(path));
}

export interface RequestLogOptions {
  /** The app's routes (Hono patterns, e.g. `/v1/models/:version/report`); any other path is logged as UNMATCHED_PATH. */
  routes: readonly string[];
  /** Where records go. Default: console.log of the JSON. */
  log?: (record: RequestLogRecord) => void;
}

/**
 * Tags every request with an id and logs it when it is answered.
 * @param options the app's routes, and where records go (default console.log)
 * @example app.use(requestLog({ routes: ['/healthz', '/v1/classify'] }));
 */
export function requestLog<E extends HonoEnv = HonoEnv>(options: RequestLogOptions): MiddlewareHandler<E> {
  const log = options.log ?? ((record: RequestLogRecord) => console.log(JSON.stringify(record)));
  const isRoute = routeMatcher(options.routes);

  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const offered = c.req.header(REQUEST_ID_HEADER);
    const requestId = offered && WELL_FORMED_ID.test(offered) ? offered : crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const scores = c.get('scores');
    const error = errorCodeOf(c);
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      event: 'request',
      requestId,
      method: c.req.method,
      // checked on every request, not only on a 404: a path under /v1/* can be refused (401) before routing
      path: isRoute(c.req.path) ? c.req.path : UNMATCHED_PATH,
      status: c.res.status,
      ...(error ? { error } : {}),
      key: c.get('apiKey')?.name ?? null,
      model: c.res.headers.get(MODEL_HEADER),
      ...(scores ? { scores: scores.map(round) } : {}),
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
