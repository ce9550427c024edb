/**
 * `apiKeyAuth()`: `Authorization: Bearer <key>` against the hashed keys in the `API_KEYS` KV
 * namespace. With no key configured the API is open (and says so in the log and in /healthz);
 * with keys, a missing or wrong key is a 401 and the key's record (name, settings) lands in
 * `c.var.apiKey` for the rate limit, the per-key policy and the request log.
 *
 * Timing: the presented key is hashed (SHA-256) and its record fetched by that digest; no secret
 * is ever compared, so there is no early-exit comparison whose duration could leak how much of a
 * guess was right. Every well-formed wrong key costs the same: one digest, one KV read, a 401.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import { hashApiKey, type KeySettings } from '../auth/key-record.ts';
import { AuthUnavailableError, InvalidKeyRecordError, sharedKeyStore, type KeyStore } from '../auth/key-store.ts';
import { GuardError } from '../errors.ts';

/** The caller's key, as the rest of the request sees it. The key itself is not kept. */
export interface ApiKey {
  /** The name given at `keys create`: logged with each request. */
  name: string;
  /** The first 16 hex digits of the key's digest: the rate limiter's key. */
  id: string;
  settings: KeySettings;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The authenticated key; `null` when the API runs open (no key configured). */
    apiKey: ApiKey | null;
  }
}

export interface ApiKeyOptions<E extends HonoEnv = HonoEnv> {
  /** Where the records are cached. Default: the isolate's shared store. */
  store?: KeyStore;
  /** The KV namespace holding the records. Default: the `API_KEYS` binding; none = open. */
  namespace?: (c: Context<E>) => KVNamespace | undefined;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const CHALLENGE = { 'www-authenticate': 'Bearer realm="edgeguard"' };

function unauthorized(code: 'missing_api_key' | 'invalid_api_key', message: string): GuardError {
  return new GuardError(401, code, message, { headers: CHALLENGE });
}

function unavailable(error: unknown): GuardError {
  return new GuardError(503, 'auth_unavailable', 'API keys cannot be checked right now; retry shortly', { cause: error, headers: { 'retry-after': '5' } });
}

/**
 * Requires an API key once any is configured.
 * @param options the key store and the KV namespace (defaults: the isolate's store, `API_KEYS`)
 * @throws GuardError 401 missing_api_key / invalid_api_key, 503 auth_unavailable (KV unreadable;
 *   never opens the API), 500 internal_error (a record that fails its schema)
 * @example
 * app.use('/v1/*', apiKeyAuth());
 * app.post('/v1/classify', (c) => c.json({ caller: c.var.apiKey?.name ?? 'anyone' }));
 */
export function apiKeyAuth<E extends HonoEnv = HonoEnv>(options: ApiKeyOptions<E> = {}): MiddlewareHandler<E> {
  const store = options.store ?? sharedKeyStore();
  const namespaceOf = options.namespace ?? ((c: Context<E>) => (c.env as { API_KEYS?: KVNamespace } | undefined)?.API_KEYS);

  return async function apiKeyMiddleware(c, next) {
    const kv = namespaceOf(c);
    let mode;
    try {
      mode = await store.mode(kv);
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw unavailable(error);
      throw error;
    }
    if (mode === 'open' || !kv) {
      c.set('apiKey', null);
      return next();
    }
    const header = c.req.header('authorization')?.trim();
    if (!header) throw unauthorized('missing_api_key', 'send your API key as Authorization: Bearer <key>');
    const token = BEARER.exec(header)?.[1];
    if (!token) throw unauthorized('invalid_api_key', 'the Authorization header must be Bearer <key>');
    const digest = await hashApiKey(token);
    let record;
    try {
      record = await store.lookup(kv, digest);
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw unavailable(error);
      if (error instanceof InvalidKeyRecordError) {
        console.error(JSON.stringify({ level: 'error', event: 'invalid_key_record', message: error.message }));
        throw new GuardError(500, 'internal_error', 'the record of this API key is invalid; ask the operator to recreate the key', { cause: error });
      }
      throw error;
    }
    if (!record || record.revokedAt) throw unauthorized('invalid_api_key', 'the API key is not valid');
    const { name, rateLimit, threshold, categoryThresholds, failMode } = record;
    c.set('apiKey', { name, id: digest.slice(0, 16), settings: { rateLimit, threshold, categoryThresholds, failMode } });
    return next();
  };
}
