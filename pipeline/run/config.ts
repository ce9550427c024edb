/**
 * The `run` config file: one JSON object, nanoGPT style. `out` is the run folder; `llm` holds the
 * settings every LLM stage shares (server, key variable, concurrency, timeout, retries), each
 * stage's section holds its own options (the same names as its CLI flags, in camelCase, checked by
 * the same schema) and may override the shared ones. `stages` optionally lists which stages to
 * run, in chain order. In any string value `${run}` stands for the run folder.
 * API keys never go in the file: name the environment variable that holds one (`apiKeyEnv`).
 *
 * @example
 * {
 *   "out": "runs/harmaug-1",
 *   "llm": { "baseUrl": "http://127.0.0.1:8000/v1", "concurrency": 16 },
 *   "augment": { "model": "meta-llama/Llama-3.1-8B-Instruct", "prefill": "vllm", "seedData": ["../shared/data/advbench.jsonl"], "count": 1000 },
 *   "respond": { "model": "meta-llama/Llama-3.1-8B-Instruct" },
 *   "label": { "baseUrl": "http://127.0.0.1:8001/v1", "model": "meta-llama/Llama-Guard-3-8B" }
 * }
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CLIError } from '../errors.ts';
import { LlmFlagsSchema } from '../llm/flags.ts';
import { STAGES, type Stage, expandRun } from './stages.ts';

const NO_KEYS = 'keys do not belong in a config file: set apiKeyEnv to the name of the environment variable holding it';
const noKey = { apiKey: z.never({ error: NO_KEYS }).optional() };

const llm = LlmFlagsSchema.shape;
/** The shared LLM section: any shared flag except the model (which is per stage) and the key, checked as the flag is; defaults stay the stage's. */
export const SharedLlmSchema = z
  .object({
    baseUrl: llm.baseUrl,
    apiKeyEnv: llm.apiKeyEnv.unwrap().optional(),
    concurrency: llm.concurrency.unwrap().optional(),
    timeout: llm.timeout.unwrap().optional(),
    retries: llm.retries.unwrap().optional(),
    cache: llm.cache,
    ...noKey,
  })
  .strict();

const section = z.record(z.string(), z.unknown()).refine((s) => !('apiKey' in s), NO_KEYS);

export const RunConfigSchema = z
  .object({
    out: z.string().min(1).optional(),
    llm: SharedLlmSchema.default({}),
    stages: z.array(z.string()).min(1).optional(),
  })
  .catchall(section);
export type RunConfig = z.infer<typeof RunConfigSchema>;

/** A stage with its fully resolved options, ready to run. */
export interface PlannedStage {
  stage: Stage;
  options: Record<string, unknown>;
}

/** Reads and validates a config file. @throws CLIError naming the file and the bad key */
export async function loadRunConfig(path: string): Promise<RunConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CLIError(`--config: cannot read ${path}: ${code ?? (error as Error).message}`);
  }
  const result = RunConfigSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CLIError(`${path}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  const known = new Set(['out', 'llm', 'stages', ...STAGES.map((s) => s.name)]);
  const unknown = Object.keys(result.data).find((key) => !known.has(key));
  if (unknown) throw new CLIError(`${path}: ${unknown}: unknown stage (stages: ${STAGES.map((s) => s.name).join(', ')})`);
  const badStage = result.data.stages?.find((name) => !STAGES.some((s) => s.name === name));
  if (badStage) throw new CLIError(`${path}: stages: unknown stage '${badStage}'`);
  return result.data;
}

/**
 * Resolves every stage's options (shared LLM settings, wired files, the stage's section) and
 * validates them all before anything runs, so a typo in the last stage fails in the first second.
 */
export function planRun(config: RunConfig, runDir: string, options: { quiet: boolean }): PlannedStage[] {
  const names = config.stages ?? STAGES.filter((s) => config[s.name] !== undefined).map((s) => s.name);
  if (names.length === 0) throw new CLIError(`config: no stage configured (stages: ${STAGES.map((s) => s.name).join(', ')})`);
  const ordered = STAGES.filter((s) => names.includes(s.name));
  return ordered.map((stage) => {
    const own = Object.fromEntries(
      Object.entries((config[stage.name] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, expandRun(v, runDir)]),
    );
    const { defaults, fixed } = stage.wire(runDir);
    const quiet = 'quiet' in stage.schema.shape && options.quiet ? { quiet: true } : {};
    const merged = { ...(stage.usesLlm ? config.llm : {}), ...defaults, ...own, ...fixed, ...quiet };
    // strict: a misspelt option is an error here, not a setting silently left at its default
    const result = stage.schema.strict().safeParse(merged);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      if (issue.code === 'unrecognized_keys')
        throw new CLIError(
          `config: ${stage.name}.${issue.keys[0]}: unknown option (see \`${stage.name} --help\`: options are its flags in camelCase)`,
        );
      throw new CLIError(`config: ${stage.name}.${issue.path.join('.') || 'options'}: ${issue.message}`);
    }
    return { stage, options: result.data as Record<string, unknown> };
  });
}
