/**
 * The local target: the KV namespace that `npm start` / `wrangler dev` serve, in wrangler's
 * persistence directory (`.wrangler/state` unless `--persist-to`). Opened through the Miniflare
 * that wrangler bundles, with the options of `wrangler kv key put --local`, so the worker reads
 * exactly what we write (as pipeline/registry/local-r2.ts does for R2).
 */
import { join, relative, resolve } from 'node:path';
import { CLIError } from '../errors.ts';
import { DEFAULT_PERSIST_DIR, wranglersMiniflare } from '../registry/local-r2.ts';
import type { KeyNamespace } from './namespace.ts';

/** The part of Miniflare's KV binding we use. */
interface LocalKv {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

const IDLE_WORKER = 'export default { fetch() { return new Response(null, { status: 404 }); } }';

export interface LocalKvOptions {
  /** wrangler's persistence directory (`--persist-to`); default `.wrangler/state` of the repository. */
  persistTo?: string;
  /** The namespace id `wrangler dev` uses locally: the binding's `id` in wrangler.toml, else the binding name. */
  namespaceId: string;
  /** For messages: the binding name. */
  binding: string;
}

/**
 * Opens the local KV namespace. Close it when done: it runs a workerd process.
 * @example
 * const kv = await createLocalKv({ namespaceId: 'API_KEYS', binding: 'API_KEYS' });
 * try { await kv.list('key:') } finally { await kv.close() }
 */
export async function createLocalKv(options: LocalKvOptions): Promise<KeyNamespace> {
  const persistTo = resolve(options.persistTo ?? DEFAULT_PERSIST_DIR);
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  // These options mirror wrangler's `usingLocalNamespace` (kv key put/get/list --local).
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: IDLE_WORKER,
      resourcePersistencePath: join(persistTo, 'v3'),
      kvNamespaces: { NAMESPACE: options.namespaceId },
    }),
  ) as unknown as { getKVNamespace(binding: string): Promise<LocalKv>; dispose(): Promise<void> };
  let kv: LocalKv;
  try {
    kv = await mf.getKVNamespace('NAMESPACE');
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw new CLIError(`cannot open the local KV in ${persistTo}: ${(error as Error).message}`, { cause: error });
  }
  const shown = relative(process.cwd(), persistTo) || '.';
  return {
    where: `local KV namespace ${options.binding} (${shown.startsWith('..') ? persistTo : shown})`,
    get: (key) => kv.get(key, 'text'),
    put: (key, value) => kv.put(key, value),
    delete: (key) => kv.delete(key),
    async list(prefix) {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
        names.push(...page.keys.map((k) => k.name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return names;
    },
    close: () => mf.dispose(),
  };
}
