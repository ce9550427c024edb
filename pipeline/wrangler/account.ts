/**
 * The Cloudflare account a remote registry or `keys` command works in, from `--account-id` or
 * CLOUDFLARE_ACCOUNT_ID, checked the same way wherever it comes from; and how those commands read
 * the environment.
 */
import { z } from 'zod';
import { CLIError } from '../errors.ts';

const ACCOUNT_ID = /^[0-9a-f]{32}$/;
const NOT_AN_ACCOUNT_ID = 'a 32-character hex Cloudflare account id';

/** The `--account-id` flag of the registry and `keys` commands. */
export const AccountIdFlag = z
  .string()
  .regex(ACCOUNT_ID, NOT_AN_ACCOUNT_ID)
  .optional()
  .describe('Cloudflare account id (default $CLOUDFLARE_ACCOUNT_ID)');

/** An environment variable's value, trimmed; undefined when it is unset or blank. */
export const envValue = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/**
 * The account id: the flag's (already checked by AccountIdFlag), else CLOUDFLARE_ACCOUNT_ID's;
 * undefined when neither gives one.
 * @throws CLIError when CLOUDFLARE_ACCOUNT_ID holds something that is not an account id
 * @example accountIdOf(undefined, { CLOUDFLARE_ACCOUNT_ID: '0123456789abcdef0123456789abcdef' })
 */
export function accountIdOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const id = flag ?? envValue(env.CLOUDFLARE_ACCOUNT_ID);
  if (id !== undefined && !ACCOUNT_ID.test(id)) throw new CLIError(`CLOUDFLARE_ACCOUNT_ID: ${NOT_AN_ACCOUNT_ID}`);
  return id;
}
