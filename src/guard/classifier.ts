/**
 * Text -> scores -> verdict, with no HTTP. Every text is featurized into windows (see
 * featurize.ts), all windows of a request are scored in a few batched runs, and each label takes
 * its highest window: a harmful passage anywhere in a long text decides.
 */
import { featurize, packBatch, type FeatureWindow } from './featurize.ts';
import type { Manifest } from './manifest.ts';
import type { LoadedModel } from './registry.ts';

/** A prompt, or a prompt and the response to judge in its context. */
export interface ClassifyInput {
  prompt: string;
  response: string | null;
}

/** Scores of one input: one per manifest label, each the maximum over the input's windows. */
export interface ItemScores {
  scores: Record<string, number>;
  windows: number;
}

/** What a request cost: featurizing, and the ORT runs (serialised, so queueing included). */
export interface ClassifyTiming {
  featurizeMs: number;
  inferenceMs: number;
  windows: number;
  runs: number;
}

/** The decision on one input. `score` is the first label's (overall P(harmful)). */
export interface Verdict {
  score: number;
  flagged: boolean;
  threshold: number;
  /** Every label after the first, with its own threshold's decision. */
  categories: Record<string, { score: number; flagged: boolean }>;
}

/**
 * Inputs that need more feature ids than the caller allows. A prompt alone costs about four ids
 * per character, but a pair is scored window by window (prompt windows x response windows), so
 * long pairs grow quadratically; the caller sets the bound.
 */
export class TooMuchTextError extends Error {
  override name = 'TooMuchTextError';
  readonly ids: number;
  readonly limit: number;

  constructor(ids: number, limit: number) {
    super(`the texts need ${ids} feature ids to score, more than the ${limit} a request may use`);
    this.ids = ids;
    this.limit = limit;
  }
}

/**
 * Padded ids per ORT run (rows x (prompt length + response length)). Bounds the embedding
 * gather's intermediate tensors (ids x dim floats), because WASM memory never shrinks.
 */
export const MAX_IDS_PER_RUN = 1 << 15;

interface Row {
  item: number;
  window: FeatureWindow;
}

const widthOf = (row: Row) => row.window.prompt.length + (row.window.response?.length ?? 0);

/** Groups rows into runs under MAX_IDS_PER_RUN; sorted by size so similar rows pad together. */
function chunk(rows: Row[]): Row[][] {
  const sorted = [...rows].sort((a, b) => widthOf(a) - widthOf(b));
  const chunks: Row[][] = [];
  let current: Row[] = [];
  let promptMax = 0;
  let responseMax = 0;
  for (const row of sorted) {
    const p = Math.max(promptMax, row.window.prompt.length);
    const r = Math.max(responseMax, row.window.response?.length ?? 1);
    if (current.length > 0 && (current.length + 1) * (p + r) > MAX_IDS_PER_RUN) {
      chunks.push(current);
      current = [];
      promptMax = row.window.prompt.length;
      responseMax = row.window.response?.length ?? 1;
    } else {
      promptMax = p;
      responseMax = r;
    }
    current.push(row);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Scores inputs with a loaded model.
 * All runs are queued in one synchronous step after featurizing, so a model swap that releases
 * the old session is queued behind them.
 * @param options.maxIds most feature ids (over all windows) to score; default: no bound
 * @throws TooMuchTextError before any run, when the inputs need more than `maxIds`
 * @example const { items } = await scoreInputs(model, [{ prompt: 'hi', response: null }])
 */
export async function scoreInputs(
  model: LoadedModel,
  inputs: ClassifyInput[],
  options: { maxIds?: number } = {},
): Promise<{ items: ItemScores[]; timing: ClassifyTiming }> {
  const { manifest, session } = model;
  const started = performance.now();
  const rows: Row[] = inputs.flatMap((input, item) =>
    featurize(input.prompt, input.response, manifest.featurizer).map((window) => ({ item, window })),
  );
  const ids = rows.reduce((sum, row) => sum + widthOf(row), 0);
  if (ids > (options.maxIds ?? Infinity)) throw new TooMuchTextError(ids, options.maxIds!);
  const chunks = chunk(rows);
  const featurized = performance.now();
  const outputs = await Promise.all(chunks.map((rows) => session.run(packBatch(rows.map((r) => r.window)))));
  const inferred = performance.now();

  const labels = manifest.labels;
  const best = inputs.map(() => new Float64Array(labels.length).fill(-Infinity));
  const windows = inputs.map(() => 0);
  chunks.forEach((rows, c) => {
    const { scores, width } = outputs[c]!;
    rows.forEach((row, r) => {
      const target = best[row.item]!;
      windows[row.item]!++;
      for (let l = 0; l < labels.length; l++) target[l] = Math.max(target[l]!, scores[r * width + l]!);
    });
  });
  const items = best.map((scores, i) => ({
    scores: Object.fromEntries(labels.map((label, l) => [label, scores[l]!])),
    windows: windows[i]!,
  }));
  return {
    items,
    timing: { featurizeMs: featurized - started, inferenceMs: inferred - featurized, windows: rows.length, runs: chunks.length },
  };
}

/**
 * The verdict on one input's scores: flagged when the first label reaches `threshold`
 * (default: the manifest's); each other label against its `categoryThresholds` entry (default:
 * the manifest's `categoryThresholds`, then the manifest's `threshold`).
 */
export function verdictOf(
  manifest: Manifest,
  scores: Record<string, number>,
  threshold = manifest.threshold,
  categoryThresholds: Record<string, number> = manifest.categoryThresholds,
): Verdict {
  const [overall, ...rest] = manifest.labels;
  const score = scores[overall!] ?? 0;
  const categories: Verdict['categories'] = {};
  for (const label of rest) {
    const value = scores[label] ?? 0;
    categories[label] = { score: value, flagged: value >= (categoryThresholds[label] ?? manifest.threshold) };
  }
  return { score, flagged: score >= threshold, threshold, categories };
}
