/**
 * wrangler's local state (`.wrangler/state`, or `--persist-to`): the R2 buckets and KV namespaces
 * that `npm start` / `wrangler dev` serve. One binding is opened through the Miniflare that our
 * wrangler bundles, with the options `wrangler r2 object ... --local` / `wrangler kv key ... --local`
 * use, so the worker reads exactly what we write. Miniflare rather than the wrangler CLI because
 * wrangler cannot list local objects and starts a fresh workerd (~6 s) for every call; one
 * Miniflare serves a whole command.
 */
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLIError } from '../errors.ts';
import { ROOT } from './wrangler.ts';

/** The persistence directory `wrangler dev` uses when given no `--persist-to`. */
export const DEFAULT_PERSIST_DIR = join(ROOT, '.wrangler', 'state');

interface MiniflareInstance {
  getR2Bucket(binding: string): Promise<unknown>;
  getKVNamespace(binding: string): Promise<unknown>;
  dispose(): Promise<void>;
}

interface MiniflareModule {
  Miniflare: new (options: unknown) => MiniflareInstance;
  convertV4MiniflareOptions(options: unknown): unknown;
}

/** The Miniflare our wrangler bundles (npm may hoist another version for the vitest plugin). */
async function wranglersMiniflare(): Promise<MiniflareModule> {
  const fromWrangler = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
  return (await import(pathToFileURL(fromWrangler.resolve('miniflare')).href)) as MiniflareModule;
}

/** A worker that does nothing: Miniflare needs one to host the binding. */
const IDLE_WORKER = 'export default { fetch() { return new Response(null, { status: 404 }); } }';

export interface LocalBinding<T> {
  binding: T;
  /** For messages: e.g. `local R2 bucket edgeguard-models (.wrangler/state)`. */
  where: string;
  /** Ends the workerd process behind the binding. */
  close(): Promise<void>;
}

/**
 * Opens one R2 bucket or KV namespace of the local state. Close it when done.
 * @param kind 'r2' (name = bucket name) or 'kv' (name = namespace id as `wrangler dev` uses it)
 * @param label what messages call it, e.g. the bucket or binding name
 * @throws CLIError when the state cannot be opened
 * @example
 * const { binding, close } = await openLocalBinding<R2Bucket>('r2', 'edgeguard-models', 'edgeguard-models');
 */
export async function openLocalBinding<T>(
  kind: 'r2' | 'kv',
  name: string,
  label: string,
  persistToOption?: string,
): Promise<LocalBinding<T>> {
  const persistTo = resolve(persistToOption ?? DEFAULT_PERSIST_DIR);
  const { Miniflare, convertV4MiniflareOptions } = await wranglersMiniflare();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: IDLE_WORKER,
      resourcePersistencePath: join(persistTo, 'v3'),
      ...(kind === 'r2' ? { r2Buckets: { BINDING: name } } : { kvNamespaces: { BINDING: name } }),
    }),
  );
  const what = kind === 'r2' ? 'R2 bucket' : 'KV namespace';
  let binding: T;
  try {
    binding = (await (kind === 'r2' ? mf.getR2Bucket('BINDING') : mf.getKVNamespace('BINDING'))) as T;
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw new CLIError(`cannot open the local ${what} in ${persistTo}: ${(error as Error).message}`, { cause: error });
  }
  const shown = relative(process.cwd(), persistTo) || '.';
  return { binding, where: `local ${what} ${label} (${shown.startsWith('..') ? persistTo : shown})`, close: () => mf.dispose() };
}
