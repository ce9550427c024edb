/**
 * The on-disk answer cache: one JSON file per request, named by the sha256 of the exact request
 * (endpoint path and body, keys sorted), so a rerun of any stage asks the server nothing it was
 * already answered. The host is not part of the key: a server restarted on another port, or a
 * second replica, gives the same answers for the same model. Files are written to a temporary
 * name and renamed, so a killed process never leaves a half-written answer behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Stable JSON: object keys sorted at every depth, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The cache key of a request. */
export function requestKey(path: string, body: unknown): string {
  return createHash('sha256').update(canonicalJson({ path, body })).digest('hex');
}

export interface AnswerCache {
  get(key: string): Promise<unknown | undefined>;
  set(key: string, entry: { path: string; request: unknown; response: unknown }): Promise<void>;
}

/**
 * @param dir folder of the cache; created on first write
 * @example const cache = createAnswerCache('runs/r1/cache'); await cache.get(requestKey(path, body))
 */
export function createAnswerCache(dir: string): AnswerCache {
  const file = (key: string) => join(dir, key.slice(0, 2), `${key}.json`);
  const made = new Set<string>(); // shard folders known to exist: one mkdir each, not one per write
  return {
    async get(key) {
      let text: string;
      try {
        text = await readFile(file(key), 'utf8');
      } catch {
        return undefined;
      }
      try {
        return (JSON.parse(text) as { response: unknown }).response;
      } catch {
        return undefined; // unreadable entry: ask again and overwrite it
      }
    },
    async set(key, entry) {
      const target = file(key);
      const shard = join(dir, key.slice(0, 2));
      if (!made.has(shard)) {
        await mkdir(shard, { recursive: true });
        made.add(shard);
      }
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, JSON.stringify({ key, ...entry, at: new Date().toISOString() }));
      await rename(tmp, target);
    },
  };
}
