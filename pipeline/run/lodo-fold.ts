/**
 * One fold of a leave-one-dataset-out evaluation: train the recipe without the fold's sets,
 * export the model, score every held-out row through onnxruntime-web, and keep what it found in
 * `<fold>/heldout.json`, so a later `lodo --resume` of the same recipe reuses the fold instead of
 * training it again.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { hardLabel } from '../data/schema.ts';
import { readModelFolder } from '../model-folder.ts';
import { exportModel } from '../onnx/export.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import type { DistillConfig } from '../train/config.ts';
import { runDistill } from '../train/distill.ts';
import { CLIError } from '../errors.ts';
import { evaluate } from '../eval/evaluate.ts';
import { ALPACA, type HeldOutRow } from '../eval/heldout.ts';
import type { LodoRow } from '../eval/lodo.ts';
import { createScorer } from '../eval/scorer.ts';

/** What one fold's model measured on the rows it never trained on. */
export interface FoldResult {
  /** The recipe the fold trained (its `holdout` is the fold's sets). */
  config: DistillConfig;
  labels: string[];
  /** Per held-out set, at the fold model's own threshold. */
  rows: LodoRow[];
  alpacaFpr: number | null;
  /** Every row of the fold's held-out sets and of the eval-only sets no fold holds out, with all its scores. */
  scored: HeldOutRow[];
}

const FoldFileSchema = z.object({
  config: z.unknown(),
  labels: z.array(z.string()),
  rows: z.array(z.unknown()),
  alpacaFpr: z.number().nullable(),
  scored: z.array(z.unknown()),
});

/**
 * What decides a fold model's weights: the recipe without its operating point (the shipped
 * threshold and the categories' thresholds and reporting), which is read off the folds
 * afterwards, so writing the chosen point into the recipe does not retrain them. A reused fold's
 * per-set table stays at the threshold the fold was trained with.
 */
function weightsPart(config: DistillConfig): Partial<DistillConfig> {
  const { threshold, thresholdOn, categoryThreshold, categoryThresholds, reportedCategories, ...rest } = config;
  return rest;
}

/**
 * The fold's result from an earlier run of the same recipe, or null when there is none.
 * @throws CLIError when the earlier run trained another recipe (resuming would mix two)
 */
export async function previousFold(dir: string, config: DistillConfig): Promise<FoldResult | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'heldout.json'), 'utf8');
  } catch {
    return null;
  }
  const parsed = FoldFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CLIError(`${dir}/heldout.json is not a fold result; delete the folder to run the fold again`);
  if (JSON.stringify(weightsPart(parsed.data.config as DistillConfig)) !== JSON.stringify(weightsPart(config))) {
    throw new CLIError(`${dir} holds a fold of another recipe; use another --out, or delete the folder to run the fold again`);
  }
  return parsed.data as FoldResult;
}

/**
 * Trains, exports and scores fold `n` (holding out `holdout`) into `dir`.
 * @param allFolded every set some fold holds out: an eval-only set among them counts in its own fold only
 */
export async function runFold(
  config: DistillConfig,
  n: number,
  holdout: string[],
  allFolded: Set<string>,
  dir: string,
  quiet: boolean,
): Promise<FoldResult> {
  const outcome = await runDistill(config, dir, quiet);
  const { meta, weights } = await loadCheckpoint(outcome.checkpointDir);
  const { manifest } = await exportModel(meta, weights, {
    out: join(dir, 'model'),
    version: `lodo-fold-${n}`,
    // as the shipped student is stored
    quantization: 'int8-columns',
    maxDelta: 1,
    probes: [],
  });
  const { bytes } = await readModelFolder(join(dir, 'model'));
  const scorer = await createScorer(bytes, manifest);
  const { result, labelScores } = await evaluate(scorer, manifest, outcome.test, { reference: ALPACA, quiet });
  const rows: LodoRow[] = [];
  for (const source of holdout) {
    const m = result.sources[source];
    if (m) rows.push({ ...m, source, fold: n, curve: [], histogram: m.histogram });
  }
  const scored: HeldOutRow[] = outcome.test
    .filter((ex) => holdout.includes(ex.source) || !allFolded.has(ex.source))
    .map((ex) => ({
      id: ex.id,
      source: ex.source,
      fold: n,
      kind: ex.kind,
      label: hardLabel(ex.label, ex.score),
      categories: ex.categories,
      scores: Array.from(labelScores.get(ex.id)!, (x) => Math.round(x * 1e5) / 1e5),
    }));
  const fold: FoldResult = { config, labels: manifest.labels, rows, alpacaFpr: result.sources[ALPACA]?.fpr ?? null, scored };
  await writeFile(join(dir, 'heldout.json'), JSON.stringify(fold));
  return fold;
}
