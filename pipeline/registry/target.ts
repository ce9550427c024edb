/**
 * Which bucket a registry command works on, from its flags and the environment: `--local` is the
 * local R2 that `npm start` serves; otherwise Cloudflare R2 through the S3 API, with credentials
 * from the environment. Shared by every registry command (deploy, promote, rollback, list, show,
 * shadow-report).
 */
import { z } from 'zod';
import { AccountIdFlag, accountIdOf, envValue } from '../wrangler/account.ts';
import { bucketName } from '../wrangler/wrangler.ts';
import { CLIError } from '../errors.ts';
import { createLocalStore } from './local-r2.ts';
import { createS3Store } from './s3.ts';
import type { RegistryStore } from './store.ts';

/** The target flags, extended by each registry command's own. */
export const TargetFlags = z.object({
  local: z.boolean().default(false).describe('the local R2 of `npm start` / `wrangler dev` instead of Cloudflare R2'),
  persistTo: z.string().min(1).optional().describe("with --local: wrangler's persistence directory (default .wrangler/state)"),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'an R2 bucket name (3-63 lowercase letters, digits, "-")')
    .optional()
    .describe("bucket name (default $R2_BUCKET, else wrangler.toml's MODELS bucket)"),
  accountId: AccountIdFlag,
  endpoint: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .optional()
    .describe('S3 endpoint (default $R2_ENDPOINT, else https://<account id>.r2.cloudflarestorage.com)'),
});
export type TargetFlags = z.infer<typeof TargetFlags>;

/**
 * Opens the bucket the flags name. Remote R2 reads R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY
 * (an R2 API token's S3 credentials) from the environment only, so secrets never sit in a shell
 * history or a process list; the account, endpoint and bucket may come from flags or env.
 * @throws CLIError when a remote target lacks credentials or an endpoint, or mixes in local flags
 */
export async function openStore(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<RegistryStore> {
  const bucket = flags.bucket ?? envValue(env.R2_BUCKET) ?? bucketName();
  if (flags.local) {
    if (flags.accountId || flags.endpoint) throw new CLIError('--local takes no --account-id or --endpoint (those name a remote bucket)');
    return createLocalStore({ bucket, persistTo: flags.persistTo });
  }
  if (flags.persistTo) throw new CLIError('--persist-to is for the local R2: add --local');
  const accessKeyId = envValue(env.R2_ACCESS_KEY_ID);
  const secretAccessKey = envValue(env.R2_SECRET_ACCESS_KEY);
  if (!accessKeyId || !secretAccessKey) {
    throw new CLIError(
      "remote R2 needs R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY in the environment (an R2 API token's S3 credentials); or pass --local for the local R2 of `npm start`",
    );
  }
  let endpoint = flags.endpoint ?? envValue(env.R2_ENDPOINT);
  if (!endpoint) {
    const accountId = accountIdOf(flags.accountId, env);
    if (!accountId)
      throw new CLIError('remote R2 needs CLOUDFLARE_ACCOUNT_ID (or --account-id), or an endpoint in R2_ENDPOINT (or --endpoint)');
    endpoint = `https://${accountId}.r2.cloudflarestorage.com`;
  } else if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new CLIError(`R2_ENDPOINT: an http(s) URL, got '${endpoint}'`);
  }
  return createS3Store({ endpoint, bucket, accessKeyId, secretAccessKey });
}

/**
 * Runs `work` with the bucket open, and closes it however `work` ends.
 * @example await withStore(flags, (store) => store.list('models/'))
 */
export async function withStore<T>(flags: TargetFlags, work: (store: RegistryStore) => Promise<T>): Promise<T> {
  const store = await openStore(flags);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
