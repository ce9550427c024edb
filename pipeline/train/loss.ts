/**
 * HarmAug's distillation objective on the first output (P(harmful)): 0.5 x cross-entropy on the
 * hard label + 0.5 x KL divergence to the teacher's soft label, where a soft label exists; plain
 * cross-entropy on whichever of the two is there otherwise. Category outputs get a binary
 * cross-entropy where the data says which categories apply, and no gradient where it does not.
 * Every gradient here is with respect to the logits (sigmoid outputs).
 */

/** What one example says about the truth. */
export interface Target {
  label: 0 | 1 | null;
  soft: number | null;
  /** Per category output: 1, 0, or NaN when unknown. */
  categories: Float32Array;
}

export interface LossConfig {
  /** Weight of the hard-label cross-entropy when a soft label exists (HarmAug: 0.5). */
  hardWeight: number;
  /** Weight of the category losses relative to the main one. */
  categoryWeight: number;
}

const EPS = 1e-7;
const clamp = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));
const bce = (p: number, y: number) => -(y * Math.log(clamp(p)) + (1 - y) * Math.log(clamp(1 - p)));
const entropy = (y: number) => (y <= 0 || y >= 1 ? 0 : bce(y, y));

/**
 * Loss of one example and its gradient with respect to the logits.
 * @param scores sigmoid outputs: [P(harmful), category scores...]
 */
export function lossAndGrad(scores: Float32Array, target: Target, config: LossConfig): { loss: number; dLogits: Float32Array } {
  const dLogits = new Float32Array(scores.length);
  const q = scores[0]!;
  let loss = 0;
  const { label, soft } = target;
  if (label !== null && soft !== null) {
    const w = config.hardWeight;
    // KL(soft || q) = BCE(q; soft) - H(soft); its gradient equals that of the BCE.
    loss = w * bce(q, label) + (1 - w) * (bce(q, soft) - entropy(soft));
    dLogits[0] = w * (q - label) + (1 - w) * (q - soft);
  } else {
    const y = label ?? soft!;
    loss = bce(q, y);
    dLogits[0] = q - y;
  }
  for (let k = 1; k < scores.length; k++) {
    const t = target.categories[k - 1]!;
    if (Number.isNaN(t)) continue;
    loss += config.categoryWeight * bce(scores[k]!, t);
    dLogits[k] = config.categoryWeight * (scores[k]! - t);
  }
  return { loss, dLogits };
}
