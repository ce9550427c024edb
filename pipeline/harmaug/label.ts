/**
 * The `label` stage: the teacher scores every prompt and prompt+response pair. Each row gets
 * `score` (teacher P(unsafe), the soft label), `label` (the teacher's verdict at the teacher's
 * threshold, unless the row already had a human label and --overwrite-labels is off) and
 * `categories` (the teacher's hazard codes mapped to our labels). Rows are appended to
 * `labeled.jsonl` as they are scored, with the teacher's raw verdicts in `verdicts.jsonl`; a rerun
 * skips the ids already there.
 */
import { z } from 'zod';
import { intFlag, listFlag, numberFlag, quietFlag } from '../args.ts';
import { createAppender } from '../data/appender.ts';
import { streamJsonl } from '../data/jsonl.ts';
import { type Example, ExampleSchema } from '../data/schema.ts';
import { CLIError } from '../errors.ts';
import { createLlmClient, type LlmStats } from '../llm/client.ts';
import { createFailurePolicy } from '../llm/failures.ts';
import { LlmFlagsSchema, clientOptions, savedLlmFlags } from '../llm/flags.ts';
import { runPool } from '../llm/pool.ts';
import { labelsOf } from '../../src/teacher/hazards.ts';
import { createLlamaGuardTeacher } from '../llm/teachers/llama-guard.ts';
import type { Teacher } from '../llm/teachers/teacher.ts';
import { WORKERS_AI_LLAMA_GUARD, createWorkersAiTeacher } from '../llm/teachers/workers-ai.ts';
import { createProgress } from '../progress.ts';
import { openStageFolder } from '../run-folder.ts';
import { readRowsIfExist } from './rows.ts';

export const TEACHERS = ['llama-guard', 'workers-ai'] as const;

/** Options of `label`, from flags or a run config section. */
export const LabelOptionsSchema = LlmFlagsSchema.extend({
  out: z.string().min(1, 'is required').describe('stage folder (config.json, labeled.jsonl, verdicts.jsonl, summary.json, cache/)'),
  in: listFlag()
    .pipe(z.array(z.string()).min(1, 'needs at least one JSONL file'))
    .describe('comma-separated JSONL files to score (prompts and/or pairs)'),
  teacher: z
    .enum(TEACHERS)
    .default('llama-guard')
    .describe("'llama-guard' (/v1/completions with logprobs) or 'workers-ai' (Cloudflare REST)"),
  model: z
    .string()
    .min(1)
    .optional()
    .describe('model name as the server knows it; required for llama-guard, workers-ai defaults to @cf/meta/llama-guard-3-8b'),
  /** The student's threshold is chosen separately, on validation data. */
  threshold: numberFlag(0, 1).default(0.5).describe("the teacher's threshold on P(unsafe) for its hard label; not the student's"),
  hardScore: z
    .union([z.literal('none').transform(() => null), numberFlag(0.5, 1)])
    .default(0.95)
    .describe("workers-ai: score of an unsafe verdict (safe: 1 - it), or 'none' for label-only rows"),
  account: z
    .string()
    .regex(/^[0-9a-f]{32}$/i, 'must be a 32-hex Cloudflare account id')
    .optional()
    .describe('workers-ai: Cloudflare account id (token from $CLOUDFLARE_API_TOKEN)'),
  topLogprobs: intFlag(2, 20).default(5).describe('llama-guard: alternatives per token to request'),
  bos: z.coerce.boolean().default(false).describe('llama-guard: write <|begin_of_text|> into the prompt (default: the server adds it)'),
  overwriteLabels: z.coerce
    .boolean()
    .default(false)
    .describe('replace human labels with the teacher verdict (default: keep them, add the score)'),
  quiet: quietFlag(),
});
export type LabelOptions = z.infer<typeof LabelOptionsSchema>;

export interface LabelSummary {
  rows: number;
  scored: number;
  unsafe: number;
  failed: number;
  meanScore: number | null;
  seconds: number;
  llm: LlmStats;
}

function teacherOf(options: LabelOptions, client: ReturnType<typeof createLlmClient>): Teacher {
  if (options.teacher === 'workers-ai') {
    return createWorkersAiTeacher(client, { model: options.model ?? WORKERS_AI_LLAMA_GUARD, hardScore: options.hardScore });
  }
  if (!options.model) throw new CLIError('--model: required for --teacher llama-guard, e.g. meta-llama/Llama-Guard-3-8B');
  return createLlamaGuardTeacher(client, {
    model: options.model,
    threshold: options.threshold,
    topLogprobs: options.topLogprobs,
    bos: options.bos,
  });
}

/**
 * Runs (or resumes) teacher labelling into `options.out`/labeled.jsonl.
 * @throws CLIError when more rows were lost for good than `allowFailures` (those written stay)
 */
export async function runLabel(options: LabelOptions): Promise<LabelSummary> {
  const started = performance.now();
  const flags = { ...options, model: options.model ?? WORKERS_AI_LLAMA_GUARD };
  if (options.teacher === 'workers-ai') {
    if (!options.baseUrl && !options.account) throw new CLIError('--account: required for --teacher workers-ai (or give --base-url)');
    flags.baseUrl ??= `https://api.cloudflare.com/client/v4/accounts/${options.account}/ai/run`;
    if (options.apiKeyEnv === 'OPENAI_API_KEY') flags.apiKeyEnv = 'CLOUDFLARE_API_TOKEN';
  }
  const llmOptions = clientOptions(flags, options.out);
  const client = createLlmClient(llmOptions);
  const teacher = teacherOf(options, client);
  const folder = await openStageFolder(options.out, 'label', { ...options, ...savedLlmFlags(flags, llmOptions) }, { quiet: options.quiet });

  const rows: Example[] = [];
  const seen = new Set<string>();
  for (const path of options.in) {
    for await (const row of streamJsonl(path, ExampleSchema)) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      rows.push(row);
    }
  }
  const outPath = folder.path('labeled.jsonl');
  const done = new Set((await readRowsIfExist(outPath)).map((r) => r.id));
  const todo = rows.filter((r) => !done.has(r.id));
  await folder.log(
    `${rows.length} rows, ${done.size} already scored, ${todo.length} to score with ${teacher.name} (teacher threshold ${options.threshold})`,
  );

  const out = createAppender(outPath);
  const verdicts = createAppender(folder.path('verdicts.jsonl'));
  const failures = createFailurePolicy(folder.path('errors.jsonl'));
  const progress = createProgress('label', todo.length, { quiet: options.quiet });
  let finished = 0;
  let scored = 0;
  await runPool(
    () => todo.shift(),
    options.concurrency,
    async (row) => {
      let verdict;
      try {
        verdict = await teacher.judge(row);
        failures.succeeded();
      } catch (error) {
        await failures.failed(row.id, error);
        return;
      }
      const keepHuman = row.label !== null && !options.overwriteLabels;
      const labeled: Example = {
        ...row,
        score: verdict.score,
        label: keepHuman ? row.label : verdict.label,
        categories: keepHuman && row.categories ? row.categories : labelsOf(verdict.codes),
      };
      await verdicts.append({
        id: row.id,
        teacher: teacher.name,
        score: verdict.score,
        label: verdict.label,
        codes: verdict.codes,
        raw: verdict.raw,
      });
      await out.append(labeled);
      scored++;
      progress.update(++finished);
    },
  );
  progress.finish();
  const all = await readRowsIfExist(outPath);
  const scores = all.map((r) => r.score).filter((s): s is number => s !== null);
  const summary: LabelSummary = {
    rows: all.length,
    scored,
    unsafe: all.filter((r) => r.label === 1).length,
    failed: failures.count(),
    meanScore: scores.length ? Math.round((scores.reduce((a, b) => a + b, 0) / scores.length) * 1e4) / 1e4 : null,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    llm: client.stats(),
  };
  await folder.writeSummary(summary);
  await folder.log(
    `${summary.rows} rows labelled (${scored} new, ${summary.unsafe} unsafe, ${summary.failed} failed); ${summary.llm.requests} requests, ${summary.llm.cacheHits} cached`,
  );
  failures.check('label', options.allowFailures);
  return summary;
}
