/**
 * What held-out predictions say, beyond per-set AUPRC: per-category figures on each held-out set,
 * headline figures per kind of text (requests, user content, prompt+response pairs), and the
 * operating point. Every number here comes from rows scored by a model that never trained on
 * their data set (leave-one-dataset-out), so a threshold chosen here is chosen on held-out data,
 * not on the validation split the model was tuned on.
 */
import type { SourceKind } from '../data/sources.ts';
import { averagePrecision, rocAuc } from './metrics.ts';

/** One held-out row as a fold model scored it. */
export interface HeldOutRow {
  id: string;
  source: string;
  fold: number;
  kind: SourceKind;
  /** Hard label (soft rows: score >= 0.5). */
  label: 0 | 1;
  /** Our category labels of a harmful row (null when unknown). */
  categories: string[] | null;
  /** One score per model label, the first P(harmful). */
  scores: number[];
}

/** The benign sets that stand for ordinary traffic and for look-alikes, as the targets name them. */
export const ALPACA = 'alpaca-eval';
export const LOOK_ALIKES = 'coconot-contrast';

/** Fewest harmful rows of a category in a set for a figure on it. */
export const MIN_POSITIVES = 20;
/** Fewest benign rows of a set to measure against; fewer: the fold's held-out benign rows. */
const MIN_NEGATIVES = 50;

const round = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);
const mean = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? round(v.reduce((a, b) => a + b, 0) / v.length) : null;
};

export interface CategoryFigure {
  source: string;
  fold: number;
  category: string;
  positives: number;
  /** Benign rows of the fold's held-out sets (ordinary traffic and look-alikes alike). */
  negatives: number;
  /** The category's own output against the fold's held-out benign rows. */
  headAuc: number | null;
  headAuprc: number | null;
  /** The overall P(harmful) against the same rows. */
  overallAuc: number | null;
  /** The category's output against the set's own benign rows only (for our written sets: the look-alike twins), when it has MIN_NEGATIVES. */
  ownBenignAuc: number | null;
}

function bySource(rows: HeldOutRow[]): Map<string, HeldOutRow[]> {
  const out = new Map<string, HeldOutRow[]>();
  for (const row of rows) (out.get(row.source) ?? out.set(row.source, []).get(row.source)!).push(row);
  return out;
}

/**
 * Per held-out set and category (with at least MIN_POSITIVES rows of it): how well the category's
 * output and the overall score tell its rows from the benign rows held out in the same fold, as a
 * benchmark tells a category's rows from all its benign rows; and, harder, from the set's own
 * benign rows (the look-alike twins of our written sets).
 * @param labels the model's labels, in output order
 */
export function categoryFigures(rows: HeldOutRow[], labels: readonly string[]): CategoryFigure[] {
  const foldBenign = new Map<number, HeldOutRow[]>();
  for (const row of rows) if (row.label === 0) (foldBenign.get(row.fold) ?? foldBenign.set(row.fold, []).get(row.fold)!).push(row);
  const figures: CategoryFigure[] = [];
  for (const [source, setRows] of bySource(rows)) {
    const own = setRows.filter((r) => r.label === 0);
    const negatives = foldBenign.get(setRows[0]!.fold) ?? [];
    for (let l = 1; l < labels.length; l++) {
      const category = labels[l]!;
      const positives = setRows.filter((r) => r.label === 1 && r.categories?.includes(category));
      if (positives.length < MIN_POSITIVES || negatives.length === 0) continue;
      const auc = (neg: HeldOutRow[], score: (r: HeldOutRow) => number) =>
        round(rocAuc([...positives, ...neg].map(score), [...positives.map(() => 1), ...neg.map(() => 0)]));
      const y = [...positives.map(() => 1), ...negatives.map(() => 0)];
      const head = [...positives, ...negatives].map((r) => r.scores[l]!);
      figures.push({
        source,
        fold: setRows[0]!.fold,
        category,
        positives: positives.length,
        negatives: negatives.length,
        headAuc: auc(negatives, (r) => r.scores[l]!),
        headAuprc: round(averagePrecision(head, y)),
        overallAuc: auc(negatives, (r) => r.scores[0]!),
        ownBenignAuc: own.length >= MIN_NEGATIVES ? auc(own, (r) => r.scores[l]!) : null,
      });
    }
  }
  return figures.sort((a, b) => a.category.localeCompare(b.category) || a.source.localeCompare(b.source));
}

/** Per category: the held-out sets' figures, weighted by their positives. */
export function categorySummary(figures: CategoryFigure[]) {
  const out: Record<
    string,
    { sets: number; positives: number; headAuc: number | null; overallAuc: number | null; worstHeadAuc: number | null }
  > = {};
  for (const f of figures) {
    const s = (out[f.category] ??= { sets: 0, positives: 0, headAuc: 0, overallAuc: 0, worstHeadAuc: null });
    s.sets++;
    s.positives += f.positives;
    s.headAuc = s.headAuc! + (f.headAuc ?? 0) * f.positives;
    s.overallAuc = s.overallAuc! + (f.overallAuc ?? 0) * f.positives;
    s.worstHeadAuc = s.worstHeadAuc === null ? f.headAuc : Math.min(s.worstHeadAuc, f.headAuc ?? 1);
  }
  for (const s of Object.values(out)) {
    s.headAuc = round(s.headAuc! / s.positives);
    s.overallAuc = round(s.overallAuc! / s.positives);
  }
  return out;
}

const HARMFUL_ONLY = (rows: HeldOutRow[]) => rows.every((r) => r.label === 1);

/**
 * How a model decides, as the worker does: flagged when P(harmful) reaches `threshold` or a
 * reported category's output reaches its own threshold.
 */
export interface Decision {
  threshold: number;
  /** Thresholds of the categories the model reports (by label); the others never flag. */
  categoryThresholds: Record<string, number>;
}

/** Whether the decision flags a row. */
export function flags(decision: Decision, labels: readonly string[], row: HeldOutRow): boolean {
  if (row.scores[0]! >= decision.threshold) return true;
  for (let l = 1; l < labels.length; l++) {
    const t = decision.categoryThresholds[labels[l]!];
    if (t !== undefined && row.scores[l]! >= t) return true;
  }
  return false;
}

/**
 * Headline figures per kind of held-out text. AUPRC (of P(harmful)): mean over sets with both
 * classes (content, pairs), or of harmful-only request sets against alpaca-eval; recall and
 * false-positive rates of the whole decision (P(harmful) or a reported category) on the pooled rows.
 */
export function kindSummary(rows: HeldOutRow[], decision: Decision, labels: readonly string[]) {
  const sets = bySource(rows);
  const alpaca = sets.get(ALPACA) ?? [];
  // a harmful-only set is ranked against alpaca-eval as scored by the same fold's model
  const alpacaOf = (fold: number) => alpaca.filter((r) => r.fold === fold);
  const auprcOf = (setRows: HeldOutRow[]) => {
    const pooled = HARMFUL_ONLY(setRows) ? [...setRows, ...alpacaOf(setRows[0]!.fold)] : setRows;
    if (!pooled.some((r) => r.label === 0) || !pooled.some((r) => r.label === 1)) return null;
    return averagePrecision(
      pooled.map((r) => r.scores[0]!),
      pooled.map((r) => r.label),
    );
  };
  const ofKind = (kinds: SourceKind[]) => [...sets.entries()].filter(([, r]) => kinds.includes(r[0]!.kind));
  const flaggedShare = (xs: HeldOutRow[]) => (xs.length ? round(xs.filter((r) => flags(decision, labels, r)).length / xs.length) : null);
  const requests = ofKind(['request']).filter(([, r]) => r.some((x) => x.label === 1));
  return {
    requestAuprc: mean(requests.map(([, r]) => auprcOf(r))),
    requestRecall: flaggedShare(requests.flatMap(([, r]) => r.filter((x) => x.label === 1))),
    contentAuprc: mean(ofKind(['content']).map(([, r]) => auprcOf(r))),
    contentRecall: flaggedShare(ofKind(['content']).flatMap(([, r]) => r.filter((x) => x.label === 1))),
    contentFpr: flaggedShare(ofKind(['content']).flatMap(([, r]) => r.filter((x) => x.label === 0))),
    pairAuprc: mean(ofKind(['pair']).map(([, r]) => auprcOf(r))),
    pairRecall: flaggedShare(ofKind(['pair']).flatMap(([, r]) => r.filter((x) => x.label === 1))),
    pairFpr: flaggedShare(ofKind(['pair']).flatMap(([, r]) => r.filter((x) => x.label === 0))),
    alpacaFpr: flaggedShare(alpaca),
    lookAlikeFpr: flaggedShare((sets.get(LOOK_ALIKES) ?? []).filter((r) => r.label === 0)),
  };
}

export type KindSummary = ReturnType<typeof kindSummary>;

/**
 * How the shipped threshold is chosen on held-out rows:
 * - `heldout-f1`: the threshold with the best mean F1 over the three kinds of text (harmful
 *   requests against alpaca-eval and the look-alikes, user content, pairs);
 * - `heldout-recall:<r>`: the highest threshold at which held-out harmful requests are flagged
 *   at least at rate r (e.g. `heldout-recall:0.85`);
 * - `heldout-fpr:<r>`: the lowest threshold that flags at most rate r of alpaca-eval's benign
 *   instructions (e.g. `heldout-fpr:0.02`), scored by fold models that never trained on it;
 * - `fixed:<t>`: a given threshold, to read the held-out figures at it (e.g. a shipped model's).
 */
export type HeldOutRule = 'heldout-f1' | `heldout-recall:${number}` | `heldout-fpr:${number}` | `fixed:${number}`;

export function isHeldOutRule(rule: string): rule is HeldOutRule {
  return rule === 'heldout-f1' || /^(heldout-recall|heldout-fpr|fixed):(0(\.\d+)?|1(\.0+)?)$/.test(rule);
}

const GRID = Array.from({ length: 199 }, (_, i) => (i + 1) / 200);

function f1At(
  rows: HeldOutRow[],
  threshold: number,
  score = (r: HeldOutRow) => r.scores[0]!,
  positive = (r: HeldOutRow) => r.label === 1,
): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const r of rows) {
    const flagged = score(r) >= threshold;
    if (positive(r)) flagged ? tp++ : fn++;
    else if (flagged) fp++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * The threshold on P(harmful) that `rule` picks on held-out rows (a grid of 0.005 steps), with the
 * category thresholds already set (they flag as well, so they count against an FPR budget).
 */
export function chooseHeldOutThreshold(
  rule: HeldOutRule,
  rows: HeldOutRow[],
  categoryThresholds: Record<string, number> = {},
  labels: readonly string[] = [],
): number {
  if (rule.startsWith('fixed:')) return Number(rule.slice('fixed:'.length));
  const sets = bySource(rows);
  if (rule.startsWith('heldout-fpr:')) {
    const rate = Number(rule.slice('heldout-fpr:'.length));
    const alpaca = sets.get(ALPACA) ?? [];
    // the lowest threshold at which the whole decision flags at most `rate` of alpaca-eval
    let chosen = 1;
    for (let i = GRID.length - 1; i >= 0; i--) {
      const decision = { threshold: GRID[i]!, categoryThresholds };
      if (alpaca.filter((r) => flags(decision, labels, r)).length > rate * alpaca.length) break;
      chosen = GRID[i]!;
    }
    return chosen;
  }
  const requests = [...sets.values()].filter((r) => r[0]!.kind === 'request' && r.some((x) => x.label === 1)).flat();
  if (rule.startsWith('heldout-recall:')) {
    const target = Number(rule.slice('heldout-recall:'.length));
    const harmful = requests
      .filter((r) => r.label === 1)
      .map((r) => r.scores[0]!)
      .sort((a, b) => b - a);
    if (harmful.length === 0) return 0.5;
    // the score of the last request that must still be flagged
    return harmful[Math.min(harmful.length - 1, Math.ceil(target * harmful.length) - 1)]!;
  }
  const benignTraffic = [...(sets.get(ALPACA) ?? []), ...(sets.get(LOOK_ALIKES) ?? []).filter((r) => r.label === 0)];
  const kinds = [
    [...requests.filter((r) => r.label === 1), ...benignTraffic],
    [...sets.values()].filter((r) => r[0]!.kind === 'content').flat(),
    [...sets.values()].filter((r) => r[0]!.kind === 'pair').flat(),
  ].filter((k) => k.some((r) => r.label === 1));
  let best = { threshold: 0.5, f1: -1 };
  for (const t of GRID) {
    const f1 = kinds.reduce((sum, k) => sum + f1At(k, t), 0) / kinds.length;
    if (f1 > best.f1) best = { threshold: t, f1 };
  }
  return best.threshold;
}

/**
 * Per reported category, the threshold of its output: the lowest at which it flags at most
 * `maxFpr` of the held-out benign rows (ordinary traffic, look-alikes, benign content and pairs,
 * alpaca-eval), and never under `floor`. A category flags a text on its own, so its threshold is
 * chosen by what it costs benign traffic, not by its best F1 (which sits at a few thousandths for
 * the fine categories and would flag ordinary text in a model trained on more). The defaults are
 * strict because the categories' flags add up: on model 2.0's folds, twelve categories at 1% each
 * flagged 2.4% of alpaca-eval on their own (the whole heldout-fpr:0.02 budget) while adding almost
 * no recall over P(harmful); at 0.2% and 0.7 they flag 0.5% of it.
 * @param reported the categories the model reports; the others get no threshold
 */
export function chooseCategoryThresholds(
  rows: HeldOutRow[],
  labels: readonly string[],
  reported: readonly string[],
  options: { maxFpr?: number; floor?: number } = {},
): Record<string, number> {
  const { maxFpr = 0.002, floor = 0.7 } = options;
  const benign = rows.filter((r) => r.label === 0);
  const out: Record<string, number> = {};
  for (let l = 1; l < labels.length; l++) {
    const category = labels[l]!;
    if (!reported.includes(category)) continue;
    const scores = benign.map((r) => r.scores[l]!).sort((a, b) => b - a);
    const cut = scores[Math.floor(maxFpr * scores.length)] ?? 0;
    // just above the first benign score that must not be flagged, on the grid
    out[category] = Math.max(floor, Math.min(1, Math.ceil((cut + 1e-9) * 200) / 200));
  }
  return out;
}
