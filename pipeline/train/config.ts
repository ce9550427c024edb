/**
 * The distillation recipe: every default in one block, then a config file (JSON), then flags, in
 * that order of precedence (nanoGPT style). The resolved config is printed and saved with the
 * checkpoint, so `distill --config <run>/config.json` repeats a run.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_FEATURIZER } from '../../src/guard/featurize.ts';
import { FeaturizerConfigSchema, PoolingSchema, type Pooling } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';
import { isThresholdRule } from '../eval/threshold.ts';
import { BROAD_LABELS, CATEGORY_LABELS } from '../data/categories.ts';

export const DISTILL_DEFAULTS = {
  /** Data files or folders; teacher-labelled rows (with `score`) mix in as they are. */
  data: ['../shared/data', 'pipeline/data/seed'],
  /** Sources held out entirely, for leave-one-dataset-out evaluation. */
  holdout: [] as string[],
  /** Sources measured but never trained on (e.g. to run a recipe from before they existed). */
  evalOnly: [] as string[],
  /** Train on the sources' soft labels where they have them (sources.ts `soft`); false: upstream hard labels. */
  softLabels: true,
  /** Per source, the soft score to train its graded rows with instead of the policy's (e.g. davidson's "offensive" at 0.5). */
  softScores: {} as Record<string, number>,
  valFraction: 0.1,
  nearDuplicate: 0.85,
  refusalPairs: 0.5,
  compliancePairs: 0.25,
  /** Share of short requests (both classes) that also get a rephrased copy (data/rephrase.ts). */
  rephrasings: 0,
  /** Add first/last sentences of long benign requests as short benign requests. */
  benignSnippets: true,
  /** Share of requests (both classes) that also get a copy wrapped in other benign requests' text (data/prepare.ts). */
  wrappedRequests: 0,
  featurizer: DEFAULT_FEATURIZER,
  train: {
    seed: 13,
    dim: 64,
    hidden: 64,
    pooling: 'mean' as Pooling,
    batchSize: 32,
    lr: 1e-3,
    lrEmbedding: 2e-3,
    maxEpochs: 4,
    patience: 2,
    samplesPerEpoch: 30000,
    sourceTemperature: 0.5,
    sourceWeights: {} as Record<string, number>,
    embeddingInit: 0,
    featureDropout: 0.3,
    hardWeight: 0.5,
    categoryWeight: 0.5,
  },
  /** How the shipped threshold is chosen on the validation split (see eval/threshold.ts). */
  threshold: 'fpr:0.015',
  /** Which validation rows choose it: all, or only requests (prompt-only, not user content). */
  thresholdOn: 'requests',
  /** Threshold of each category output (its own sigmoid, not calibrated like the overall score). */
  categoryThreshold: 0.5,
  /** Per-category thresholds that replace `categoryThreshold` (e.g. chosen on held-out rows by `lodo`). */
  categoryThresholds: {} as Record<string, number>,
  /**
   * Categories whose OpenAI keys the model reports (in /v1/moderations and /v1/classify): the ones
   * with a trustworthy held-out figure. The rest are still outputs of the model, never shown.
   */
  reportedCategories: [...BROAD_LABELS] as string[],
};

export const DistillConfigSchema = z.strictObject({
  data: z.array(z.string()).min(1),
  holdout: z.array(z.string()),
  evalOnly: z.array(z.string()),
  softLabels: z.boolean(),
  softScores: z.record(z.string(), z.number().min(0).max(1)),
  valFraction: z.number().min(0.01).max(0.5),
  nearDuplicate: z.number().min(0.5).max(1),
  refusalPairs: z.number().min(0).max(1),
  compliancePairs: z.number().min(0).max(1),
  rephrasings: z.number().min(0).max(1),
  benignSnippets: z.boolean(),
  wrappedRequests: z.number().min(0).max(1),
  featurizer: FeaturizerConfigSchema,
  train: z.strictObject({
    seed: z.number().int(),
    dim: z.number().int().min(2).max(512),
    hidden: z.number().int().min(2).max(1024),
    pooling: PoolingSchema,
    batchSize: z.number().int().min(1).max(4096),
    lr: z.number().positive(),
    lrEmbedding: z.number().positive(),
    maxEpochs: z.number().int().min(1).max(100),
    patience: z.number().int().min(1),
    samplesPerEpoch: z.number().int().min(0),
    sourceTemperature: z.number().min(0).max(1),
    sourceWeights: z.record(z.string(), z.number().min(0)),
    embeddingInit: z.number().min(0).max(10),
    featureDropout: z.number().min(0).max(0.9),
    hardWeight: z.number().min(0).max(1),
    categoryWeight: z.number().min(0),
  }),
  threshold: z.string().refine(isThresholdRule, 'must be "max-f1", "fpr:<rate>" or "fixed:<value>", e.g. "fpr:0.02"'),
  thresholdOn: z.enum(['all', 'requests']),
  categoryThreshold: z.number().min(0).max(1),
  categoryThresholds: z.partialRecord(z.enum(CATEGORY_LABELS), z.number().min(0).max(1)),
  reportedCategories: z.array(z.enum(CATEGORY_LABELS)),
});
export type DistillConfig = z.infer<typeof DistillConfigSchema>;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(base[k]) ? merge(base[k], v) : v;
  return out;
}

/** Defaults <- config file <- overrides, validated. Throws a one-line CLIError on any problem. */
export async function resolveDistillConfig(file: string | undefined, overrides: Plain): Promise<DistillConfig> {
  let fromFile: Plain = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      throw new CLIError(`cannot read config ${file}`);
    }
    try {
      const json: unknown = JSON.parse(text);
      if (!isPlain(json)) throw new Error();
      // a run folder's config.json holds the distill config under "distill"
      fromFile = isPlain(json.distill) ? json.distill : json;
    } catch {
      throw new CLIError(`${file}: not a JSON object`);
    }
  }
  const result = DistillConfigSchema.safeParse(merge(merge(DISTILL_DEFAULTS as Plain, fromFile), overrides));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CLIError(`config ${issue.path.join('.') || ''}: ${issue.message}`);
  }
  return result.data;
}
