/**
 * Explicit decision-threshold selection on validation scores. The rule and the value it gave are
 * recorded in the manifest, so a threshold is never a number nobody can explain.
 *  - `max-f1`: the threshold with the best F1 on the validation split;
 *  - `fpr:<rate>`: the lowest threshold whose false-positive rate on benign validation rows stays
 *    at or under `rate` (e.g. `fpr:0.02`), for a guard that must rarely block honest users;
 *  - `fixed:<value>`: a threshold chosen elsewhere, on held-out data (`pipeline lodo` prints the
 *    one its rule picks on the rows every fold model never trained on).
 */
import { prCurve } from './metrics.ts';

export type ThresholdRule = 'max-f1' | `fpr:${number}` | `fixed:${number}`;

export function isThresholdRule(rule: string): rule is ThresholdRule {
  return rule === 'max-f1' || /^(fpr|fixed):(0(\.\d+)?|1(\.0+)?)$/.test(rule);
}

/** The threshold `rule` picks for these validation scores and 0/1 labels. */
export function chooseThreshold(rule: ThresholdRule, scores: number[], labels: number[]): number {
  if (rule.startsWith('fixed:')) return Number(rule.slice('fixed:'.length));
  if (rule === 'max-f1') {
    let best = { f1: -1, threshold: 0.5 };
    for (const p of prCurve(scores, labels)) {
      const f1 = p.precision + p.recall > 0 ? (2 * p.precision * p.recall) / (p.precision + p.recall) : 0;
      if (f1 > best.f1) best = { f1, threshold: p.threshold };
    }
    return best.threshold;
  }
  const rate = Number(rule.slice(4));
  const benign = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a);
  // allowed false positives: the top floor(rate * n) benign scores may be flagged
  const allowed = Math.floor(rate * benign.length);
  const cut = benign[allowed];
  if (cut === undefined) return 0;
  // just above the first benign score that must not be flagged
  return Math.min(1, cut + 1e-6);
}
