/**
 * The local target: the R2 bucket that `npm start` / `wrangler dev` serve, in wrangler's
 * persistence directory (`.wrangler/state` unless `--persist-to`). It is opened the way
 * `wrangler r2 object put --local` opens it, through Miniflare with the same options, so the worker
 * reads exactly what we write. Miniflare rather than the wrangler CLI because wrangler cannot list
 * local objects and starts a fresh workerd (~6 s) for every single object; one Miniflare serves a
 * whole command.
 */
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../dev/wrangler.ts';
import { CLIError } from '../errors.ts';
import type { RegistryStore, StoredObject } from './store.ts';

/** The persistence directory `wrangler dev` uses when given no `--persist-to`. */
export const DEFAULT_PERSIST_DIR = join(ROOT, '.wrangler', 'state');

/** The part of Miniflare's R2 binding we use. */
interface LocalBucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  put(key: string, value: Uint8Array, options: { httpMetadata: { contentType: string } }): Promise<unknown>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{
    objects: { key: string; size: number; uploaded: Date }[];
    truncated: boolean;
    cursor?: string;
  }>;
}

interface MiniflareInstance {
  getR2Bucket(binding: string): Promise<LocalBucket>;
  dispose(): Promise<void>;
}

interface MiniflareModule {
  Miniflare: new (options: unknown) => MiniflareInstance;
  convertV4MiniflareOptions(options: unknown): unknown;
}

/**
 * The Miniflare that our wrangler bundles (npm may hoist another version for the vitest plugin):
 * the same code that `wrangler dev` stores R2 objects with.
 */
export async function wranglersMiniflare(): Promise<MiniflareModule> {
  const fromWrangler = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
  return (await import(pathToFileURL(fromWrangler.resolve('miniflare')).href)) as MiniflareModule;
}

/** A worker that does nothing: Miniflare needs one to host the R2 binding. */
const IDLE_WORKER = 'export default { fetch() { return new Response(null, { status: 404 }); } }';

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
  const persistTo = resolve(options.persistTo ?? DEFAULT_PERSIST_DIR);
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  // These options mirror wrangler's `usingLocalBucket` (r2 object put/get/delete --local).
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: IDLE_WORKER,
      resourcePersistencePath: join(persistTo, 'v3'),
      r2Buckets: { BUCKET: options.bucket },
    }),
  );
  let bucket: LocalBucket;
  try {
    bucket = await mf.getR2Bucket('BUCKET');
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw new CLIError(`cannot open the local R2 in ${persistTo}: ${(error as Error).message}`, { cause: error });
  }
  const shown = relative(process.cwd(), persistTo) || '.';
  return {
    where: `local R2 bucket ${options.bucket} (${shown.startsWith('..') ? persistTo : shown})`,
    async get(key) {
      const object = await bucket.get(key);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
    async put(key, body, contentType) {
      await bucket.put(key, body, { httpMetadata: { contentType } });
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
    close: () => mf.dispose(),
  };
}
