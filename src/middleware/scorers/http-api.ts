/**
 * `httpApi()`: `guard()` scoring in a deployed EdgeGuard worker over its HTTP API
 * (`POST /v1/classify` with an API key), through `createClient()`: timeouts, retries on 429 and
 * 503 after `Retry-After`. The key's policy decides the categories; the guard's `threshold` (and a
 * `policy()` override's thresholds) re-decide the labels they name from the raw scores.
 */
import type { Context, Env as HonoEnv } from 'hono';
import { createClient, type ClientOptions, type EdgeGuardClient } from '../../client/client.ts';
import { REQUEST_ID_HEADER } from '../../http/headers.ts';
import { scoreRemotely } from './remote.ts';
import type { GuardScorer } from './scorer.ts';

export interface HttpApiOptions<E extends HonoEnv = HonoEnv> extends Omit<ClientOptions, 'apiKey'> {
  /** The API key (`egk_…`), or where the env holds it: `(c) => c.env.EDGEGUARD_KEY`. Default: none (an open API). */
  apiKey?: string | ((c: Context<E>) => string | undefined);
}

/**
 * Scores over HTTP. What `createClient()` cannot get an answer for (timeouts, network failures,
 * 429 and 5xx after its retries) is a model that cannot score: the guard's fail mode decides. A
 * refused key is a 500 `internal_error`, never failed open.
 * @param options the client's (`url`, `timeoutMs` 10,000, `retries` 2, `maxRetryDelayMs` 5,000, `fetch`) and `apiKey`
 * @throws TypeError at set-up, as createClient
 * @example
 * import { guard, httpApi } from 'edgeguard/hono';
 * app.post('/chat', guard({
 *   failMode: 'open',
 *   scorer: httpApi({ url: 'https://edgeguard.example.workers.dev', apiKey: (c) => c.env.EDGEGUARD_KEY }),
 * }), handler);
 */
export function httpApi<E extends HonoEnv = HonoEnv>(options: HttpApiOptions<E>): GuardScorer<E> {
  const { apiKey, ...clientOptions } = options;
  const clients = new Map<string | undefined, EdgeGuardClient>();
  const clientFor = (key: string | undefined) => {
    let client = clients.get(key);
    if (!client) clients.set(key, (client = createClient({ ...clientOptions, apiKey: key })));
    return client;
  };
  clientFor(typeof apiKey === 'function' ? undefined : apiKey); // checks the options now, not on the first request
  const name = new URL(options.url).origin;
  return {
    name,
    score(c, request) {
      const client = clientFor(typeof apiKey === 'function' ? apiKey(c) : apiKey);
      const requestId = c.req.header(REQUEST_ID_HEADER);
      return scoreRemotely((items) => client.classify({ items }, requestId ? { requestId } : {}), request, name);
    },
  };
}
