/**
 * Binary classification metrics over scores and 0/1 labels. Counts are checked to add up, so a
 * metric never silently describes a different set than the one given.
 */

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Confusion counts at `threshold` (score >= threshold is flagged). */
export function confusion(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Confusion {
  if (scores.length !== labels.length) throw new Error(`${scores.length} scores for ${labels.length} labels`);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! >= threshold;
    if (labels[i] === 1) flagged ? c.tp++ : c.fn++;
    else flagged ? c.fp++ : c.tn++;
  }
  if (c.tp + c.fp + c.tn + c.fn !== scores.length) throw new Error('confusion counts do not add up');
  return c;
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** Precision, recall, F1, false-positive rate at a threshold; null where undefined (no positives...). */
export function rates(c: Confusion) {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : null;
  return { precision, recall, f1, fpr: ratio(c.fp, c.fp + c.tn) };
}

/** Points of the precision-recall curve, from the highest threshold down. */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<number>) {
  const order = Array.from(scores, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const positives = Array.from(labels).filter((l) => l === 1).length;
  const points: { threshold: number; precision: number; recall: number }[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (labels[i] === 1) tp++;
    else fp++;
    // one point per distinct score, after all examples tied at it
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    points.push({ threshold: scores[i]!, precision: tp / (tp + fp), recall: positives ? tp / positives : 0 });
  }
  return points;
}

/**
 * Average precision (area under the precision-recall curve, step-wise as scikit-learn computes
 * it); null without positives.
 * @example averagePrecision([0.9, 0.8, 0.1], [1, 0, 1]) // (1 * 0.5 + 2/3 * 0.5) = 0.8333...
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const points = prCurve(scores, labels);
  if (!points.length || points[points.length - 1]!.recall === 0) return null;
  let ap = 0;
  let lastRecall = 0;
  for (const p of points) {
    ap += (p.recall - lastRecall) * p.precision;
    lastRecall = p.recall;
  }
  return ap;
}

/**
 * Area under the ROC curve: the chance that a random positive scores above a random negative
 * (ties count half); null without both classes.
 * @example rocAuc([0.9, 0.4, 0.1], [1, 0, 1]) // 0.5
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const order = Array.from(scores, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let k = 0; k < order.length;) {
    // a run of tied scores shares the mean of its ranks
    let end = k;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[k]!]) end++;
    const rank = (k + end) / 2 + 1;
    for (let j = k; j <= end; j++) {
      if (labels[order[j]!] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    k = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
