/**
 * The flags every LLM stage shares (server, key, model, concurrency, timeout, retries, cache), as
 * one zod schema, and how they become client options. The key is read from the environment (or
 * --api-key) and never written to a run folder.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, numberFlag } from '../args.ts';
import { CLIError } from '../errors.ts';
import { CLIENT_DEFAULTS, type LlmClientOptions } from './client.ts';

/** The shared LLM flags, validated; spread into each LLM stage's options. */
export const LlmFlagsSchema = z.object({
  baseUrl: z.url().optional().describe('OpenAI-compatible base URL with its /v1 (default: $OPENAI_BASE_URL)'),
  apiKey: z.string().min(1).optional().describe('API key (default: the variable named by --api-key-env); never saved'),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .default('OPENAI_API_KEY')
    .describe('environment variable holding the API key'),
  model: z.string().min(1, 'is required').describe('model name as the server knows it'),
  concurrency: intFlag(1, 1024).default(CLIENT_DEFAULTS.concurrency).describe('requests in flight at once'),
  timeout: numberFlag(0.01, 3600)
    .default(CLIENT_DEFAULTS.timeoutMs / 1000)
    .describe('seconds to wait for one answer before retrying'),
  retries: intFlag(0, 20).default(CLIENT_DEFAULTS.maxRetries).describe('retries of a request on 429, 5xx, timeouts and network errors'),
  cache: z.string().min(1).optional().describe("answer cache folder, or 'off' (default <out>/cache)"),
  /** Rows the stage may lose for good and still exit 0; more, and it exits 1 (rows written stay). */
  allowFailures: intFlag(0, 1_000_000_000).default(0).describe('rows the stage may lose to requests that fail for good before it exits 1'),
});
export type LlmFlags = z.infer<typeof LlmFlagsSchema>;

/**
 * Client options from validated flags, the environment and the stage's output folder.
 * @throws CLIError when no base URL is given by flag or OPENAI_BASE_URL
 */
export function clientOptions(flags: LlmFlags, out: string, env: NodeJS.ProcessEnv = process.env): LlmClientOptions {
  const baseUrl = flags.baseUrl ?? env.OPENAI_BASE_URL;
  if (!baseUrl) throw new CLIError('--base-url: required (or set OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1');
  if (!URL.canParse(baseUrl)) throw new CLIError(`OPENAI_BASE_URL: not a URL: ${baseUrl}`);
  return {
    baseUrl,
    apiKey: flags.apiKey ?? env[flags.apiKeyEnv] ?? null,
    concurrency: flags.concurrency,
    timeoutMs: Math.round(flags.timeout * 1000),
    maxRetries: flags.retries,
    cacheDir: flags.cache === 'off' ? null : (flags.cache ?? join(out, 'cache')),
  };
}

/** The flags as saved in a run folder's config.json: everything but the key itself. */
export function savedLlmFlags(flags: LlmFlags, options: LlmClientOptions): Record<string, unknown> {
  const { apiKey: _secret, ...rest } = flags;
  return { ...rest, baseUrl: options.baseUrl, cache: options.cacheDir ?? 'off' };
}
