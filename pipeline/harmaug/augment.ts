/**
 * The `augment` stage: HarmAug generation. For sample number i it picks k exemplars (seeded by
 * the run seed and i), asks the model to continue "I have an idea for a prompt:" as a true
 * prefill, parses one instruction out of the sample, drops refusals and junk, drops exact and
 * near duplicates of the seed set and of everything accepted so far, and appends the survivors to
 * `prompts.jsonl` (source 'harmaug', label null). Every finished sample is logged in
 * `samples.jsonl`, so a rerun skips it; with the answer cache, a rerun also never asks twice.
 */
import { z } from 'zod';
import { intFlag, listFlag, numberFlag, quietFlag } from '../args.ts';
import { createAppender } from '../data/appender.ts';
import { DuplicateIndex, textKey } from '../data/dedupe.ts';
import type { Example } from '../data/schema.ts';
import { CLIError } from '../errors.ts';
import { loadChatTemplate } from '../llm/chat-template.ts';
import { createLlmClient } from '../llm/client.ts';
import { createFailurePolicy } from '../llm/failures.ts';
import { LlmFlagsSchema, clientOptions, savedLlmFlags } from '../llm/flags.ts';
import { PREFILL_MODES, createContinue } from '../llm/prefill.ts';
import { runPool } from '../llm/pool.ts';
import { createProgress } from '../progress.ts';
import { openStageFolder } from '../run-folder.ts';
import { diversity } from './diversity.ts';
import { parseSample } from './parse.ts';
import { buildAugmentMessages } from './prompt.ts';
import { readJsonlIfExists, readRowsIfExist } from './rows.ts';
import { loadSeeds, pickExemplars, sampleSeed } from './seeds.ts';

/** Options of `augment`, from flags or a run config section. */
export const AugmentOptionsSchema = LlmFlagsSchema.extend({
  out: z.string().min(1, 'is required').describe('stage folder (config.json, prompts.jsonl, samples.jsonl, summary.json, cache/)'),
  seedData: listFlag()
    .pipe(z.array(z.string()).min(1, 'needs at least one JSONL file'))
    .describe('comma-separated JSONL files in the Example schema; label-1 rows are the exemplars'),
  count: intFlag(1, 10_000_000).default(100).describe('instructions to keep'),
  /** Bounds the cost when the model often refuses. */
  maxSamples: intFlag(1, 100_000_000).optional().describe('samples to draw at most (default 4 x count)'),
  k: intFlag(1, 20).default(3).describe('exemplars per request'),
  prefill: z
    .enum(PREFILL_MODES)
    .default('template')
    .describe(
      "how the prefix is prefilled: 'template' (render --tokenizer, /v1/completions), 'vllm' (continue_final_message), 'ollama-raw' (/api/generate raw)",
    ),
  tokenizer: z
    .string()
    .min(1)
    .optional()
    .describe('local model folder with tokenizer_config.json (chat_template) and tokenizer.json; needed by template and ollama-raw'),
  keepBos: z.coerce.boolean().default(false).describe('keep the BOS token the template writes (default: drop it, servers add their own)'),
  temperature: numberFlag(0, 2).default(1).describe('sampling temperature'),
  topP: numberFlag(0.01, 1).default(1).describe('nucleus sampling'),
  maxTokens: intFlag(8, 4096).default(128).describe('tokens per sample'),
  seed: intFlag(0, 2 ** 31 - 1)
    .default(0)
    .describe('run seed: exemplar choice and per-request sampling seeds'),
  nearDuplicate: numberFlag(0.1, 1).default(0.8).describe('word-trigram Jaccard from which an instruction is a near duplicate'),
  quiet: quietFlag(),
});
export type AugmentOptions = z.infer<typeof AugmentOptionsSchema>;

/** One finished sample, as logged in samples.jsonl. */
const SampleLogSchema = z.object({
  sample: z.number().int().nonnegative(),
  status: z.enum(['accepted', 'rejected', 'duplicate', 'surplus']),
  reason: z.string().optional(),
  id: z.string().optional(),
  duplicateOf: z.string().optional(),
  exemplars: z.array(z.string()),
  text: z.string(),
});
type SampleLog = z.infer<typeof SampleLogSchema>;

/** What `augment` reports in summary.json. */
export interface AugmentSummary {
  kept: number;
  target: number;
  samples: number;
  accepted: number;
  rejected: Record<string, number>;
  duplicates: { exact: number; near: number };
  surplus: number;
  failed: number;
  seconds: number;
  llm: ReturnType<ReturnType<typeof createLlmClient>['stats']>;
  diversity: ReturnType<typeof diversity>;
}

/**
 * Runs (or resumes) augmentation into `options.out`.
 * @throws CLIError when failed samples left the target short by more rows than `allowFailures`
 *   (the rows kept stay)
 */
export async function runAugment(options: AugmentOptions): Promise<AugmentSummary> {
  const started = performance.now();
  if (options.prefill !== 'vllm' && !options.tokenizer) {
    throw new CLIError(
      `--tokenizer: required with --prefill ${options.prefill} (a local folder with tokenizer_config.json), or use --prefill vllm`,
    );
  }
  const client = createLlmClient(clientOptions(options, options.out));
  const llmConfig = savedLlmFlags(options, clientOptions(options, options.out));
  const folder = await openStageFolder(options.out, 'augment', { ...options, ...llmConfig }, { quiet: options.quiet });
  const template = options.tokenizer ? await loadChatTemplate(options.tokenizer, { keepBos: options.keepBos }) : null;
  const generate = createContinue(client, { mode: options.prefill, model: options.model, template });
  const seeds = await loadSeeds(options.seedData);

  const promptsPath = folder.path('prompts.jsonl');
  const samplesPath = folder.path('samples.jsonl');
  const kept = await readRowsIfExist(promptsPath);
  const done = await readJsonlIfExists(samplesPath, SampleLogSchema);
  const index = new DuplicateIndex(options.nearDuplicate);
  const exactKeys = new Set<string>();
  const remember = (id: string, text: string) => {
    index.add(id, text);
    exactKeys.add(textKey(text));
  };
  for (const row of seeds.all) remember(`seed:${row.id}`, row.prompt);
  const keptIds = new Set<string>();
  for (const row of kept) {
    if (keptIds.has(row.id)) continue;
    keptIds.add(row.id);
    remember(row.id, row.prompt);
  }
  const finished = new Set(done.map((s) => s.sample));
  let samplesDone = finished.size;
  const counts = { accepted: keptIds.size, rejected: {} as Record<string, number>, exact: 0, near: 0, surplus: 0 };
  for (const s of done) {
    if (s.status === 'rejected') counts.rejected[s.reason ?? 'other'] = (counts.rejected[s.reason ?? 'other'] ?? 0) + 1;
    if (s.status === 'duplicate') counts[s.reason === 'exact' ? 'exact' : 'near']++;
    if (s.status === 'surplus') counts.surplus++;
  }
  const maxSamples = options.maxSamples ?? options.count * 4;
  await folder.log(
    `${seeds.exemplars.length} exemplars from ${seeds.all.length} seed rows; ${keptIds.size}/${options.count} kept so far, ${finished.size} samples done; model ${options.model} via ${options.prefill}`,
  );

  const prompts = createAppender(promptsPath);
  const samples = createAppender(samplesPath);
  const failures = createFailurePolicy(folder.path('errors.jsonl'));
  const progress = createProgress('augment', options.count, { quiet: options.quiet });
  let nextSample = 0;
  let inFlight = 0;
  const next = () => {
    // Stop handing out samples once the ones in flight could fill the target.
    if (counts.accepted + inFlight >= options.count) return undefined;
    while (nextSample < maxSamples && finished.has(nextSample)) nextSample++;
    if (nextSample >= maxSamples) return undefined;
    inFlight++;
    return nextSample++;
  };

  await runPool(next, options.concurrency, async (sample) => {
    const exemplars = pickExemplars(seeds.exemplars, options.k, options.seed, sample);
    const messages = buildAugmentMessages(exemplars.map((e) => e.prompt));
    let text: string;
    try {
      text = await generate(messages, {
        max_tokens: options.maxTokens,
        temperature: options.temperature,
        top_p: options.topP,
        seed: sampleSeed(options.seed, sample),
      });
      failures.succeeded();
    } catch (error) {
      inFlight--;
      await failures.failed(`sample-${sample}`, error);
      return;
    }
    const log: SampleLog = { sample, status: 'rejected', exemplars: exemplars.map((e) => e.id), text };
    const parsed = parseSample(text);
    if (!parsed.ok) {
      log.reason = parsed.reason;
      counts.rejected[parsed.reason] = (counts.rejected[parsed.reason] ?? 0) + 1;
    } else {
      // find and add run without an await between them, so concurrent samples cannot both pass
      const duplicateOf = index.find(parsed.instruction);
      if (duplicateOf !== null) {
        const exact = exactKeys.has(textKey(parsed.instruction));
        Object.assign(log, { status: 'duplicate', reason: exact ? 'exact' : 'near', duplicateOf });
        counts[exact ? 'exact' : 'near']++;
      } else if (counts.accepted >= options.count) {
        log.status = 'surplus';
        counts.surplus++;
      } else {
        const id = `harmaug-${options.seed}-${sample}`;
        remember(id, parsed.instruction);
        counts.accepted++;
        const row: Example = {
          id,
          prompt: parsed.instruction,
          response: null,
          label: null,
          score: null,
          category: null,
          categories: null,
          source: 'harmaug',
        };
        Object.assign(log, { status: 'accepted', id });
        await prompts.append(row);
      }
    }
    inFlight--;
    samplesDone++;
    await samples.append(log);
    progress.update(counts.accepted, `${sample + 1} samples`);
  });

  const all = await readRowsIfExist(promptsPath);
  const summary: AugmentSummary = {
    kept: all.length,
    target: options.count,
    samples: samplesDone,
    accepted: counts.accepted,
    rejected: counts.rejected,
    duplicates: { exact: counts.exact, near: counts.near },
    surplus: counts.surplus,
    failed: failures.count(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    llm: client.stats(),
    diversity: diversity(all.map((r) => r.prompt)),
  };
  progress.finish();
  await folder.writeSummary(summary);
  await folder.log(
    `kept ${summary.kept}/${options.count} from ${summary.samples} samples (rejected ${JSON.stringify(counts.rejected)}, duplicates ${counts.exact} exact + ${counts.near} near, ${summary.failed} failed); ${summary.llm.requests} requests, ${summary.llm.cacheHits} cached; distinct-2 ${summary.diversity.distinct2}, mean pairwise Jaccard ${summary.diversity.meanPairwiseJaccard}`,
  );
  if (summary.kept < options.count)
    await folder.log(
      `only ${summary.kept} of ${options.count} kept after ${maxSamples} samples: raise --max-samples or rerun to retry failed samples`,
    );
  // A failed sample is replaced by the next one while samples last: rows are lost only when the
  // target is missed, and at most one per failed sample.
  failures.check('augment', options.allowFailures, Math.min(summary.failed, Math.max(0, options.count - summary.kept)));
  return summary;
}
