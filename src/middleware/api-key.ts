/**
 * `apiKeyAuth()`: `Authorization: Bearer <key>` against the hashed keys in the `API_KEYS` KV
 * namespace. With no key configured the API is open (and says so in the log and in /healthz);
 * with keys, a missing or wrong key is a 401 and the key's record (name, settings) lands in
 * `c.var.apiKey` for the rate limit, the per-key policy and the request log.
 *
 * Timing: the presented key is hashed (SHA-256) and its record fetched by that digest; no secret
 * is ever compared, so there is no early-exit comparison whose duration could leak how much of a
 * guess was right. Every well-formed wrong key costs the same: one digest, one KV read, a 401.
 *
 * Guessing: a digest with no record is remembered for a few seconds (the key store), and failed
 * attempts are counted per client address (`cf-connecting-ip`) with the `RATE_LIMIT_AUTH_FAILURES`
 * binding; over its limit the address is answered 429 `rate_limited` for the binding's period,
 * before any lookup.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import { hashApiKey, type KeySettings } from '../auth/key-record.ts';
import { AuthUnavailableError, InvalidKeyRecordError, sharedKeyStore, type KeyStore } from '../auth/key-store.ts';
import { GuardError } from '../errors.ts';
import { RATE_LIMIT_PERIOD_SECONDS } from './rate-limit.ts';

/** The `[[ratelimits]]` binding that counts failed key attempts per client address. */
export const AUTH_FAILURE_BINDING = 'RATE_LIMIT_AUTH_FAILURES';

/** The client address Cloudflare sets on every request it proxies; a client cannot choose it. */
const CLIENT_ADDRESS_HEADER = 'cf-connecting-ip';

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
  /** Counts failed attempts per client address. Default: the `RATE_LIMIT_AUTH_FAILURES` binding; none = not counted. */
  failureLimiter?: (c: Context<E>) => RateLimit | undefined;
  /**
   * Lets a request without an `Authorization` header through with no key (`c.var.apiKey` null)
   * even when keys are configured; one with the header is checked as usual. For open routes that
   * show a key holder more (`/healthz`). Default false.
   */
  optional?: boolean;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const CHALLENGE = { 'www-authenticate': 'Bearer realm="edgeguard"' };

function unauthorized(code: 'missing_api_key' | 'invalid_api_key', message: string): GuardError {
  return new GuardError(401, code, message, { headers: CHALLENGE });
}

function tooManyFailures(): GuardError {
  return new GuardError(
    429,
    'rate_limited',
    `too many failed API key attempts from your address; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`,
    {
      headers: { 'retry-after': String(RATE_LIMIT_PERIOD_SECONDS) },
    },
  );
}

/**
 * Counts one failed attempt of `client`; true once it is over the limit. A limiter that fails
 * counts nothing and logs it, as the per-key limit does: its outage must not lock callers out.
 */
async function overFailureLimit(limiter: RateLimit | undefined, client: string): Promise<boolean> {
  if (!limiter) return false;
  try {
    return !(await limiter.limit({ key: client })).success;
  } catch (error) {
    console.error(
      JSON.stringify({
        level: 'error',
        event: 'rate_limiter_failed',
        limiter: AUTH_FAILURE_BINDING,
        message: (error as Error)?.message ?? String(error),
      }),
    );
    return false;
  }
}

function unavailable(error: unknown): GuardError {
  return new GuardError(503, 'auth_unavailable', 'API keys cannot be checked right now; retry shortly', {
    cause: error,
    headers: { 'retry-after': '5' },
  });
}

/**
 * Requires an API key once any is configured.
 * @param options the key store, the KV namespace and the failed-attempt limiter (defaults: the
 *   isolate's store, `API_KEYS`, `RATE_LIMIT_AUTH_FAILURES`)
 * @throws GuardError 401 missing_api_key / invalid_api_key, 429 rate_limited (too many failed
 *   attempts from the client's address), 503 auth_unavailable (KV unreadable; never opens the
 *   API), 500 internal_error (a record that fails its schema)
 * @example
 * app.use('/v1/*', apiKeyAuth());
 * app.post('/v1/classify', (c) => c.json({ caller: c.var.apiKey?.name ?? 'anyone' }));
 */
export function apiKeyAuth<E extends HonoEnv = HonoEnv>(options: ApiKeyOptions<E> = {}): MiddlewareHandler<E> {
  const store = options.store ?? sharedKeyStore();
  const namespaceOf = options.namespace ?? ((c: Context<E>) => (c.env as { API_KEYS?: KVNamespace } | undefined)?.API_KEYS);
  const failureLimiterOf =
    options.failureLimiter ?? ((c: Context<E>) => (c.env as Record<string, RateLimit | undefined> | undefined)?.[AUTH_FAILURE_BINDING]);

  return async function apiKeyMiddleware(c, next) {
    if (options.optional && !c.req.header('authorization')) {
      c.set('apiKey', null);
      return next();
    }
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
    // Absent only off Cloudflare's proxy (local tests): then attempts are not counted.
    const client = c.req.header(CLIENT_ADDRESS_HEADER) || null;
    if (client && store.refused(client)) throw tooManyFailures();
    const digest = await hashApiKey(token);
    let record;
    try {
      record = await store.lookup(kv, digest);
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw unavailable(error);
      if (error instanceof InvalidKeyRecordError) {
        console.error(JSON.stringify({ level: 'error', event: 'invalid_key_record', message: error.message }));
        throw new GuardError(500, 'internal_error', 'the record of this API key is invalid; ask the operator to recreate the key', {
          cause: error,
        });
      }
      throw error;
    }
    if (!record || record.revokedAt) {
      if (client && (await overFailureLimit(failureLimiterOf(c), client))) {
        store.refuse(client, RATE_LIMIT_PERIOD_SECONDS * 1000);
        throw tooManyFailures();
      }
      throw unauthorized('invalid_api_key', 'the API key is not valid');
    }
    const { name, rateLimit, threshold, categoryThresholds, failMode, pinVersions, escalate } = record;
    c.set('apiKey', {
      name,
      id: digest.slice(0, 16),
      settings: { rateLimit, threshold, categoryThresholds, failMode, pinVersions, escalate },
    });
    return next();
  };
}
