/**
 * The worker's view of the `API_KEYS` KV namespace, cached per isolate: whether any key is
 * configured (one KV list of at most one record, re-checked every few seconds) and the record of
 * a presented key (found by its SHA-256 digest; records found are kept for a while, and a digest
 * with no record is remembered for a few seconds, so a wrong key sent again and again costs one
 * KV read, not one per request). And the client addresses refused for a while after too many
 * failed attempts (apiKeyAuth decides when), so their next attempts cost no KV read at all.
 */
import { KEY_RECORD_PREFIX, KeyRecordSchema, keyRecordKey, type KeyRecord } from './key-record.ts';

/** `open`: no key is configured, the API serves anyone. `keys`: a valid key is required. */
export type AuthMode = 'open' | 'keys';

/** KV could not be read, so no one can be authenticated: the API answers 503, never opens. */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

/** A record under `key:<digest>` that fails its schema (written by hand, not by the CLI). */
export class InvalidKeyRecordError extends Error {
  override name = 'InvalidKeyRecordError';
}

export interface KeyStoreOptions {
  /** How long an isolate trusts its answer to "is any key configured?". Default 10 s. */
  modeTtlMs?: number;
  /** How long an isolate keeps a key record it found (a revocation shows within this plus KV's own delay). Default 30 s. */
  recordTtlMs?: number;
  /**
   * How long an isolate remembers that a digest has no record. A key created meanwhile works that
   * much later (on top of KV's own spread of up to a minute), so keep it short. Default 5 s.
   */
  missTtlMs?: number;
  /** Most records, misses and refused clients kept, each; the oldest goes first. Default 1000. */
  maxRecords?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Key lookups of one isolate. */
export interface KeyStore {
  /**
   * Whether the API requires keys. A failed check keeps the last answer; with none yet, throws.
   * @throws AuthUnavailableError when KV cannot be listed and the mode is not known yet
   */
  mode(kv: KVNamespace | undefined): Promise<AuthMode>;
  /**
   * The record of the key with this digest (revoked ones included), or `null`.
   * @throws AuthUnavailableError when KV cannot be read
   * @throws InvalidKeyRecordError when the stored record fails its schema
   */
  lookup(kv: KVNamespace, digest: string): Promise<KeyRecord | null>;
  /** Whether `client` (an address) is refused until a time `refuse` set that has not passed yet. */
  refused(client: string): boolean;
  /** Refuses `client` for `ms` milliseconds. */
  refuse(client: string, ms: number): void;
}

/** Sets `key` in a map kept to `max` entries: the oldest goes first. */
function setBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}

/**
 * Creates a key store. The worker makes one per isolate (`sharedKeyStore()`); tests make their own.
 * @param options TTLs and cache size (defaults: mode 10 s, records 30 s, misses 5 s, 1000 entries)
 * @example
 * const keys = createKeyStore();
 * if ((await keys.mode(env.API_KEYS)) === 'keys') await keys.lookup(env.API_KEYS, await hashApiKey(key));
 */
export function createKeyStore(options: KeyStoreOptions = {}): KeyStore {
  const modeTtlMs = options.modeTtlMs ?? 10_000;
  const recordTtlMs = options.recordTtlMs ?? 30_000;
  const missTtlMs = options.missTtlMs ?? 5_000;
  const maxRecords = options.maxRecords ?? 1000;
  const now = options.now ?? Date.now;
  let known: { mode: AuthMode; at: number } | null = null;
  let checking: Promise<AuthMode> | null = null;
  const records = new Map<string, { record: KeyRecord; at: number }>();
  /** Digests KV had no record for, and when it said so. */
  const misses = new Map<string, number>();
  /** Refused client addresses, and until when. */
  const refusedUntil = new Map<string, number>();

  async function check(kv: KVNamespace): Promise<AuthMode> {
    try {
      const listed = await kv.list({ prefix: KEY_RECORD_PREFIX, limit: 1 });
      const mode: AuthMode = listed.keys.length > 0 ? 'keys' : 'open';
      if (mode !== known?.mode) {
        console.log(
          JSON.stringify(
            mode === 'open'
              ? {
                  level: 'warn',
                  event: 'auth_mode',
                  mode,
                  message: 'no API keys configured: the API is open to anyone (pipeline keys create adds one)',
                }
              : { level: 'info', event: 'auth_mode', mode, message: 'API keys configured: requests need Authorization: Bearer <key>' },
          ),
        );
      }
      known = { mode, at: now() };
      return mode;
    } catch (error) {
      if (known) {
        console.error(
          JSON.stringify({
            level: 'error',
            event: 'auth_mode_check_failed',
            keeping: known.mode,
            message: (error as Error)?.message ?? String(error),
          }),
        );
        known = { mode: known.mode, at: now() };
        return known.mode;
      }
      throw new AuthUnavailableError(`cannot read the API_KEYS namespace: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  }

  return {
    async mode(kv) {
      if (!kv) {
        if (known?.mode !== 'open')
          console.log(
            JSON.stringify({ level: 'warn', event: 'auth_mode', mode: 'open', message: 'no API_KEYS binding: the API is open to anyone' }),
          );
        known = { mode: 'open', at: now() };
        return 'open';
      }
      if (known && now() - known.at < modeTtlMs) return known.mode;
      checking ??= check(kv).finally(() => {
        checking = null;
      });
      return checking;
    },
    async lookup(kv, digest) {
      const cached = records.get(digest);
      if (cached && now() - cached.at < recordTtlMs) return cached.record;
      const missedAt = misses.get(digest);
      if (missedAt !== undefined && now() - missedAt < missTtlMs) return null;
      let text: string | null;
      try {
        text = await kv.get(keyRecordKey(digest), 'text');
      } catch (error) {
        throw new AuthUnavailableError(`cannot read the API_KEYS namespace: ${(error as Error)?.message ?? error}`, { cause: error });
      }
      records.delete(digest);
      misses.delete(digest);
      if (text === null) {
        setBounded(misses, digest, now(), maxRecords);
        return null;
      }
      const invalid = (why: string) => new InvalidKeyRecordError(`the record ${keyRecordKey(digest.slice(0, 12))}… is invalid: ${why}`);
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw invalid('not JSON');
      }
      const parsed = KeyRecordSchema.safeParse(raw);
      if (!parsed.success) throw invalid(`${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      setBounded(records, digest, { record: parsed.data, at: now() }, maxRecords);
      return parsed.data;
    },
    refused(client) {
      const until = refusedUntil.get(client);
      if (until === undefined) return false;
      if (now() < until) return true;
      refusedUntil.delete(client);
      return false;
    },
    refuse(client, ms) {
      setBounded(refusedUntil, client, now() + ms, maxRecords);
    },
  };
}

let shared: KeyStore | null = null;

/** The isolate's key store, shared by every request. */
export function sharedKeyStore(): KeyStore {
  shared ??= createKeyStore();
  return shared;
}
