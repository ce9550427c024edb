/**
 * Text -> scores -> verdict, with no HTTP. Every text is planned (tokens, windows, sentence spans,
 * decoded readings: see featurize.ts) and its cost in feature ids counted before anything is
 * hashed, so a request over its budget is refused before it costs CPU; then all rows of a request
 * are scored together (in ORT runs shared with the requests scoring at the same time, see
 * coalesce.ts), and each label takes its highest row: a harmful passage anywhere in a long text
 * decides.
 */
import { featurizePlan, planFeatures, type FeatureWindow, type FeaturizePlan } from './featurize.ts';
import { CATEGORY_NAMED_AT } from './labels.ts';
import type { Manifest } from './manifest.ts';
import { maxOverRows } from './model-input.ts';
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

/** What a request cost: featurizing, and the ORT runs (shared and serialised, so waiting included). */
export interface ClassifyTiming {
  featurizeMs: number;
  inferenceMs: number;
  windows: number;
  /** ORT runs that scored the request's windows. */
  runs: number;
  /** Requests (scoring calls) whose windows shared those runs, this one included. */
  shared: number;
}

/** The decision on one input. `score` is the first label's (overall P(harmful)). */
export interface Verdict {
  score: number;
  flagged: boolean;
  threshold: number;
  /** Every label after the first that the model reports, with its own threshold's decision. */
  categories: Record<string, { score: number; flagged: boolean }>;
}

/**
 * Inputs that need more feature ids than the caller allows, found by counting (tokenizing, no
 * hashing or inference) up to the input that crosses the bound. A prompt alone costs about four
 * ids per character, twice that with its sentence spans, but a pair is scored window by window
 * (prompt windows x response windows), so long pairs grow quadratically; the caller sets the bound.
 */
export class TooMuchTextError extends Error {
  override name = 'TooMuchTextError';
  /** Ids counted when the bound was crossed: the first `counted` inputs' (the rest were not looked at). */
  readonly ids: number;
  readonly limit: number;
  readonly counted: number;
  readonly inputs: number;

  constructor(ids: number, limit: number, counted: number, inputs: number) {
    const which =
      counted === inputs
        ? `the ${inputs === 1 ? 'text needs' : `${inputs} texts need`}`
        : `the first ${counted} of ${inputs} texts already need`;
    super(`${which} ${ids} feature ids to score, more than the ${limit} a request may use`);
    this.ids = ids;
    this.limit = limit;
    this.counted = counted;
    this.inputs = inputs;
  }
}

/**
 * Scores inputs with a loaded model.
 * The windows are handed to the session in one synchronous step after featurizing, so a model
 * swap that releases the old session comes after them.
 * @param options.maxIds most feature ids (over all rows) to score; default: no bound
 * @param options.coalesceWaitMs how long the first scoring call of a burst waits for others to
 *   share its ORT runs (see coalesce.ts); default 0: until the next macrotask
 * @throws TooMuchTextError before any hashing or inference, when the inputs need more than `maxIds`
 * @example const { items } = await scoreInputs(model, [{ prompt: 'hi', response: null }])
 */
export async function scoreInputs(
  model: LoadedModel,
  inputs: ClassifyInput[],
  options: { maxIds?: number; coalesceWaitMs?: number } = {},
): Promise<{ items: ItemScores[]; timing: ClassifyTiming }> {
  const { manifest, session } = model;
  const config = manifest.featurizer;
  const started = performance.now();
  const maxIds = options.maxIds ?? Infinity;
  const plans: FeaturizePlan[] = [];
  let ids = 0;
  for (const input of inputs) {
    const plan = planFeatures(input.prompt, input.response, config);
    ids += plan.ids;
    plans.push(plan);
    // stop at the text that crosses the bound: the rest is never tokenized
    if (ids > maxIds) throw new TooMuchTextError(ids, maxIds, plans.length, inputs.length);
  }
  const windows: FeatureWindow[] = [];
  const owners: number[] = [];
  plans.forEach((plan, item) => {
    for (const window of featurizePlan(plan, config)) {
      windows.push(window);
      owners.push(item);
    }
  });
  const featurized = performance.now();
  const { scores, width, runs, callers } = await session.run(windows, { waitMs: options.coalesceWaitMs });
  const inferred = performance.now();

  // the probe at load checked that the model has one output per label (width)
  const best = maxOverRows(owners, scores, width, inputs.length);
  const items = best.map((row, i) => ({
    scores: Object.fromEntries(manifest.labels.map((label, l) => [label, row[l]!])),
    windows: plans[i]!.rows,
  }));
  return {
    items,
    timing: { featurizeMs: featurized - started, inferenceMs: inferred - featurized, windows: windows.length, runs, shared: callers },
  };
}

/**
 * The verdict on one input's scores. Each category the model reports (a label with OpenAI keys
 * in the manifest's `openaiCategories`) is flagged at its `categoryThresholds` entry (default:
 * the manifest's `categoryThresholds`, then its `threshold`), or at `CATEGORY_NAMED_AT` when
 * P(harmful) flags the input; labels the model does not report are left out. The input is
 * flagged when P(harmful), the first label, reaches `threshold` (default: the manifest's) or any
 * reported category is flagged: a category's flag never contradicts the overall verdict.
 */
export function verdictOf(
  manifest: Manifest,
  scores: Record<string, number>,
  threshold = manifest.threshold,
  categoryThresholds: Record<string, number> = manifest.categoryThresholds,
): Verdict {
  const [overall, ...rest] = manifest.labels;
  const score = scores[overall!] ?? 0;
  const overallFlagged = score >= threshold;
  const categories: Verdict['categories'] = {};
  let anyCategory = false;
  for (const label of rest) {
    if (!manifest.openaiCategories[label]?.length) continue;
    const value = scores[label] ?? 0;
    const own = categoryThresholds[label] ?? manifest.categoryThresholds[label] ?? manifest.threshold;
    const flagged = value >= own || (overallFlagged && value >= Math.min(own, CATEGORY_NAMED_AT));
    categories[label] = { score: value, flagged };
    anyCategory ||= flagged;
  }
  return { score, flagged: overallFlagged || anyCategory, threshold, categories };
}
