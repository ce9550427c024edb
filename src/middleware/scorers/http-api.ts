/**
 * `httpApi()`: `guard()` scoring in a deployed EdgeGuard worker over its HTTP API
 * (`POST /v1/classify` with an API key), through `createClient()`: timeouts, retries on 429 and
 * 503 after `Retry-After`. The answer reports the key's policy; the guard decides from the raw
 * scores with its own thresholds over it, as in-process (see remote.ts foldVerdict).
 */
import type { Context, Env as HonoEnv } from 'hono';
import { createClient, type ClientOptions, type EdgeGuardClient } from '../../client/client.ts';
import { REQUEST_ID_HEADER } from '../../http/headers.ts';
import { scoreRemotely } from './remote.ts';
import type { GuardScorer } from './scorer.ts';

export interface HttpApiOptions<E extends HonoEnv = HonoEnv> extends Omit<ClientOptions, 'url' | 'apiKey'> {
  /** The EdgeGuard worker's base URL, or where the env holds it: `(c) => c.env.EDGEGUARD_URL`. */
  url: string | ((c: Context<E>) => string);
  /** The API key (`egk_…`), or where the env holds it: `(c) => c.env.EDGEGUARD_KEY`. Default: none (an open API). */
  apiKey?: string | ((c: Context<E>) => string | undefined);
}

/**
 * Scores over HTTP. What `createClient()` cannot get an answer for (timeouts, network failures,
 * 429 and 502-504 after its retries) is a model that cannot score: the guard's fail mode decides.
 * A refused key is a 500 `internal_error`, never failed open.
 * @param options the client's (`timeoutMs` 10,000, `retries` 2, `maxRetryDelayMs` 5,000, `fetch`), `url` and `apiKey`
 * @throws TypeError at set-up, as createClient (a URL given as a function: at the first request)
 * @example
 * import { guard, httpApi } from 'edgeguard/hono';
 * app.post('/chat', guard({
 *   failMode: 'open',
 *   scorer: httpApi({ url: 'https://edgeguard.example.workers.dev', apiKey: (c) => c.env.EDGEGUARD_KEY }),
 * }), handler);
 */
export function httpApi<E extends HonoEnv = HonoEnv>(options: HttpApiOptions<E>): GuardScorer<E> {
  const { url, apiKey, ...clientOptions } = options;
  const clients = new Map<string, EdgeGuardClient>();
  const clientFor = (base: string, key: string | undefined) => {
    const id = `${base}\n${key ?? ''}`;
    let client = clients.get(id);
    if (!client) clients.set(id, (client = createClient({ ...clientOptions, url: base, apiKey: key })));
    return client;
  };
  // options given as values are checked now, not at the first request
  if (typeof url === 'string') clientFor(url, typeof apiKey === 'string' ? apiKey : undefined);
  return {
    name: typeof url === 'string' ? new URL(url).origin : 'EdgeGuard HTTP API',
    score(c, request) {
      const base = typeof url === 'function' ? url(c) : url;
      const client = clientFor(base, typeof apiKey === 'function' ? apiKey(c) : apiKey);
      const requestId = c.req.header(REQUEST_ID_HEADER);
      return scoreRemotely((items) => client.classify({ items }, requestId ? { requestId } : {}), request, URL.parse(base)?.origin ?? base);
    },
  };
}
