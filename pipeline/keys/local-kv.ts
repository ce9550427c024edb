/**
 * The local target: the KV namespace that `npm start` / `wrangler dev` serve, in wrangler's
 * persistence directory (`.wrangler/state` unless `--persist-to`). Opened through the Miniflare
 * that wrangler bundles, with the options of `wrangler kv key put --local`, so the worker reads
 * exactly what we write (see pipeline/dev/local-state.ts).
 */
import { openLocalBinding } from '../wrangler/local-state.ts';
import type { KeyNamespace } from './namespace.ts';

/** The part of Miniflare's KV binding we use. */
interface LocalKv {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

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
  const { binding: kv, where, close } = await openLocalBinding<LocalKv>('kv', options.namespaceId, options.binding, options.persistTo);
  return {
    where,
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
    close,
  };
}
