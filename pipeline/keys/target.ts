/**
 * Which KV namespace a `keys` command works on, from its flags and the environment: `--local` is
 * the local KV that `npm start` / `wrangler dev` serve; otherwise Cloudflare KV through the REST
 * API, with the token from the environment only (never a flag, so it stays out of shell history).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AccountIdFlag, accountIdOf, envValue } from '../wrangler/account.ts';
import { ROOT } from '../wrangler/wrangler.ts';
import { CLIError } from '../errors.ts';
import { CLOUDFLARE_API_BASE, createCloudflareKv } from './cloudflare-kv.ts';
import { createLocalKv } from './local-kv.ts';
import type { KeyNamespace } from './namespace.ts';

/** The worker's binding of the key namespace (wrangler.toml `[[kv_namespaces]]`). */
export const KEYS_BINDING = 'API_KEYS';

/** The target flags, extended by each `keys` subcommand's own. */
export const KvTargetFlags = z.object({
  local: z.boolean().default(false).describe('the local KV of `npm start` / `wrangler dev` instead of Cloudflare KV'),
  persistTo: z.string().min(1).optional().describe("with --local: wrangler's persistence directory (default .wrangler/state)"),
  accountId: AccountIdFlag,
  namespaceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'a 32-character hex KV namespace id')
    .optional()
    .describe(`KV namespace id (default $API_KEYS_NAMESPACE_ID, else the ${KEYS_BINDING} id in wrangler.toml)`),
});
export type KvTargetFlags = z.infer<typeof KvTargetFlags>;

/** The `id` of the `[[kv_namespaces]]` entry with `binding`, if wrangler.toml gives one. */
export function kvNamespaceId(binding = KEYS_BINDING, toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')): string | undefined {
  for (const block of toml.split('[[kv_namespaces]]').slice(1)) {
    const entry = block.split(/^\s*\[/m)[0]!;
    if (new RegExp(`^\\s*binding\\s*=\\s*"${binding}"`, 'm').test(entry)) return /^\s*id\s*=\s*"([^"]+)"/m.exec(entry)?.[1];
  }
  return undefined;
}

/**
 * Opens the namespace the flags name.
 * @throws CLIError when a remote target lacks the token, the account or the namespace id, or
 *   mixes in local flags
 */
export async function openKeyNamespace(flags: KvTargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<KeyNamespace> {
  const configured = kvNamespaceId();
  if (flags.local) {
    if (flags.accountId || flags.namespaceId)
      throw new CLIError('--local takes no --account-id or --namespace-id (those name a remote namespace)');
    // wrangler dev keeps a binding's data under its id, or under the binding name when it has none
    return createLocalKv({ persistTo: flags.persistTo, namespaceId: configured ?? KEYS_BINDING, binding: KEYS_BINDING });
  }
  if (flags.persistTo) throw new CLIError('--persist-to is for the local KV: add --local');
  const apiToken = envValue(env.CLOUDFLARE_API_TOKEN);
  if (!apiToken)
    throw new CLIError(
      'Cloudflare KV needs CLOUDFLARE_API_TOKEN in the environment (a token with Workers KV Storage: Edit); or pass --local for the local KV of `npm start`',
    );
  const accountId = accountIdOf(flags.accountId, env);
  if (!accountId) throw new CLIError('Cloudflare KV needs CLOUDFLARE_ACCOUNT_ID (or --account-id)');
  const namespaceId = flags.namespaceId ?? envValue(env.API_KEYS_NAMESPACE_ID) ?? configured;
  if (!namespaceId) {
    throw new CLIError(
      `Cloudflare KV needs the namespace id: --namespace-id, API_KEYS_NAMESPACE_ID, or id = "..." under the ${KEYS_BINDING} binding in wrangler.toml (\`wrangler kv namespace list\` shows it)`,
    );
  }
  const apiBase = envValue(env.CLOUDFLARE_API_BASE_URL) ?? CLOUDFLARE_API_BASE;
  if (!URL.canParse(apiBase)) throw new CLIError(`CLOUDFLARE_API_BASE_URL: an http(s) URL, got '${apiBase}'`);
  return createCloudflareKv({ accountId, namespaceId, apiToken, apiBase });
}

/**
 * Runs `work` with the namespace open, and closes it however `work` ends.
 * @example await withKeyNamespace(flags, (kv) => kv.list('key:'))
 */
export async function withKeyNamespace<T>(flags: KvTargetFlags, work: (kv: KeyNamespace) => Promise<T>): Promise<T> {
  const kv = await openKeyNamespace(flags);
  try {
    return await work(kv);
  } finally {
    await kv.close();
  }
}
