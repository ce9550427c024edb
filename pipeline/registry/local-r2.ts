/**
 * The local target: the R2 bucket that `npm start` / `wrangler dev` serve, opened in wrangler's
 * local state as `wrangler r2 object put --local` opens it (see pipeline/dev/local-state.ts).
 */
import { openLocalBinding } from '../wrangler/local-state.ts';
import type { RegistryStore, StoredObject } from './store.ts';

/** The part of Miniflare's R2 binding we use. */
interface LocalBucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  /** With `onlyIf`, null when the condition fails (nothing written). */
  put(
    key: string,
    value: Uint8Array,
    options: { httpMetadata: { contentType: string }; onlyIf?: { etagDoesNotMatch: string } },
  ): Promise<unknown>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{
    objects: { key: string; size: number; uploaded: Date }[];
    truncated: boolean;
    cursor?: string;
  }>;
}

export interface LocalStoreOptions {
  /** wrangler's persistence directory (`--persist-to`); default `.wrangler/state` of the repository. */
  persistTo?: string;
  /** The bucket name (wrangler.toml's `bucket_name`). */
  bucket: string;
}

/**
 * Opens the local R2 bucket. Close it when done: it runs a workerd process.
 * @example
 * const store = await createLocalStore({ bucket: 'edgeguard-models' });
 * try { await store.list('models/') } finally { await store.close() }
 */
export async function createLocalStore(options: LocalStoreOptions): Promise<RegistryStore> {
  const { binding: bucket, where, close } = await openLocalBinding<LocalBucket>('r2', options.bucket, options.bucket, options.persistTo);
  return {
    where,
    async get(key) {
      const object = await bucket.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
    async put(key, body, contentType) {
      await bucket.put(key, body, { httpMetadata: { contentType } });
    },
    async create(key, body, contentType) {
      // R2's If-None-Match: * (no object has any etag), checked and written in one transaction
      return (await bucket.put(key, body, { httpMetadata: { contentType }, onlyIf: { etagDoesNotMatch: '*' } })) !== null;
    },
    async delete(key) {
      await bucket.delete(key);
    },
    async list(prefix) {
      const objects: StoredObject[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
        objects.push(...page.objects.map((o) => ({ key: o.key, size: o.size, uploaded: new Date(o.uploaded) })));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return objects;
    },
    close,
  };
}
