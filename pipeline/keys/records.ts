/**
 * The key records in a namespace, read and written the way the worker expects them
 * (src/auth/key-record.ts): create a key (only its digest is stored), list, revoke.
 */
import {
  KEY_RECORD_PREFIX,
  KeyRecordSchema,
  generateApiKey,
  hashApiKey,
  keyRecordKey,
  type KeyRecord,
  type KeySettings,
} from '../../src/auth/key-record.ts';
import { CLIError } from '../errors.ts';
import type { KeyNamespace } from './namespace.ts';

/** One stored record: its digest, and the record or why it cannot be read. */
export interface StoredKey {
  /** The SHA-256 of the key (hex): the record's KV key without its prefix. */
  digest: string;
  record: KeyRecord | null;
  problem: string | null;
}

/** Every record in the namespace, in digest order (read in parallel, 8 at a time). */
export async function readKeys(kv: KeyNamespace): Promise<StoredKey[]> {
  const names = await kv.list(KEY_RECORD_PREFIX);
  const out: StoredKey[] = [];
  for (let i = 0; i < names.length; i += 8) {
    out.push(
      ...(await Promise.all(
        names.slice(i, i + 8).map(async (name) => {
          const digest = name.slice(KEY_RECORD_PREFIX.length);
          const text = await kv.get(name);
          if (text === null) return { digest, record: null, problem: 'deleted while listing' };
          let raw: unknown;
          try {
            raw = JSON.parse(text);
          } catch {
            return { digest, record: null, problem: 'not JSON' };
          }
          const parsed = KeyRecordSchema.safeParse(raw);
          if (!parsed.success)
            return { digest, record: null, problem: `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
          return { digest, record: parsed.data, problem: null };
        }),
      )),
    );
  }
  return out;
}

/**
 * Creates a key: a new random secret whose SHA-256 names the record. The key itself is returned
 * once and stored nowhere.
 * @throws CLIError when an active key already has this name
 */
export async function createKey(
  kv: KeyNamespace,
  name: string,
  settings: KeySettings,
  now = new Date(),
): Promise<{ key: string; digest: string; record: KeyRecord }> {
  const existing = await readKeys(kv);
  if (existing.some((k) => k.record?.name === name && !k.record.revokedAt)) {
    throw new CLIError(`an active key named '${name}' exists in ${kv.where}; revoke it first or choose another name`);
  }
  const key = generateApiKey();
  const digest = await hashApiKey(key);
  const record = KeyRecordSchema.parse({ schemaVersion: 1, name, createdAt: now.toISOString(), ...settings });
  await kv.put(keyRecordKey(digest), JSON.stringify(record));
  return { key, digest, record };
}

/**
 * Revokes the active key named `name` (the record stays, marked, so the API stays closed even
 * when it was the last key), or with `purge` deletes every record of that name, revoked or not.
 * @throws CLIError when there is no such key
 * @returns what was changed, and how many records are left in the namespace
 */
export async function revokeKey(
  kv: KeyNamespace,
  name: string,
  options: { purge?: boolean; now?: Date } = {},
): Promise<{ changed: StoredKey[]; left: number }> {
  const keys = await readKeys(kv);
  const named = keys.filter((k) => k.record?.name === name && (options.purge || !k.record.revokedAt));
  if (named.length === 0) {
    const revoked = keys.some((k) => k.record?.name === name);
    throw new CLIError(
      revoked
        ? `the key '${name}' is already revoked (--purge deletes its record)`
        : `no key named '${name}' in ${kv.where} (see \`keys list\`)`,
    );
  }
  for (const stored of named) {
    if (options.purge) await kv.delete(keyRecordKey(stored.digest));
    else
      await kv.put(
        keyRecordKey(stored.digest),
        JSON.stringify({ ...stored.record!, revokedAt: (options.now ?? new Date()).toISOString() }),
      );
  }
  return { changed: named, left: keys.length - (options.purge ? named.length : 0) };
}
