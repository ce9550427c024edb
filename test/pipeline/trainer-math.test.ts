import { describe, expect, it } from 'vitest';
import { averagePrecision, confusion, rates } from '../../pipeline/eval/metrics.ts';
import { chooseThreshold } from '../../pipeline/eval/threshold.ts';
import { lossAndGrad, type Target } from '../../pipeline/train/loss.ts';
import { createRng } from '../../pipeline/rng.ts';
import { backward, embeddingGrad, forward, initStudent, zeroGrads, type StudentWeights } from '../../pipeline/train/student.ts';
import type { FeatureWindow } from '../../src/guard/featurize.ts';

const CONFIG = { hardWeight: 0.5, categoryWeight: 0.5 };

function lossOf(w: StudentWeights, window: FeatureWindow, target: Target): number {
  return lossAndGrad(forward(w, window).scores, target, CONFIG).loss;
}

describe.each(['mean', 'mean-max'] as const)('student gradients, %s pooling', (pooling) => {
  const w = initStudent({ buckets: 32, dim: 4, hidden: 5, outputs: 3, pooling }, createRng(7));
  // give the MLP some larger weights so ReLUs are active in both directions
  w.embedding.forEach((_, i) => (w.embedding[i] = i < 4 ? 0 : Math.sin(i) * 0.8));
  const window: FeatureWindow = { prompt: Int32Array.of(3, 5, 5, 9), response: Int32Array.of(12, 30) };
  const target: Target = { label: 1, soft: 0.7, categories: Float32Array.of(0, Number.NaN) };

  const act = forward(w, window);
  const { dLogits } = lossAndGrad(act.scores, target, CONFIG);
  const grads = zeroGrads(w);
  const dx = backward(w, act, dLogits, grads);
  const embGrad = new Float32Array(w.embedding.length);
  embeddingGrad(w, window, act, dx, (id, g, s) => g.forEach((v, d) => (embGrad[id * w.dim + d]! += s * v)));

  const numeric = (param: Float32Array, i: number) => {
    const h = 1e-3;
    const old = param[i]!;
    param[i] = old + h;
    const up = lossOf(w, window, target);
    param[i] = old - h;
    const down = lossOf(w, window, target);
    param[i] = old;
    return (up - down) / (2 * h);
  };

  it.each([
    ['w1', 0],
    ['w1', 17],
    ['w1', 44],
    ['b1', 2],
    ['w2', 4],
    ['w2', 13],
    ['b2', 0],
    ['b2', 1],
  ] as const)('the analytic gradient of %s[%i] matches finite differences', (name, i) => {
    expect(grads[name][i]!).toBeCloseTo(numeric(w[name], i), 3);
  });

  it.each([5 * 4 + 1, 9 * 4 + 3, 12 * 4, 30 * 4 + 2])('the embedding gradient of entry %i matches finite differences', (i) => {
    expect(embGrad[i]!).toBeCloseTo(numeric(w.embedding, i), 3);
  });

  if (pooling === 'mean-max') {
    it.each([0, 1, 2, 3])('the prompt and response rows winning max dimension %i get its gradient', (d) => {
      for (const [half, ids] of [
        [0, window.prompt],
        [4, window.response!],
      ] as const) {
        const winner = act.argmax![half + d]!;
        const best = Math.max(0, ...Array.from(ids, (id) => w.embedding[id * 4 + d]!));
        expect(act.x[2 * 4 + 1 + half + d]).toBeCloseTo(best, 6);
        if (winner < 0) expect(best).toBe(0);
        else expect(embGrad[winner * 4 + d]!).toBeCloseTo(numeric(w.embedding, winner * 4 + d), 3);
      }
    });
  }

  it('starts every embedding row at zero with embeddingInit 0, and training can still move them', () => {
    const shape = { buckets: 32, dim: 4, hidden: 5, outputs: 3, pooling };
    expect(Math.max(...initStudent(shape, createRng(7)).embedding.map(Math.abs))).toBeCloseTo(1 / 4, 1);
    const zero = initStudent(shape, createRng(7), 0);
    expect(zero.embedding.every((v) => v === 0)).toBe(true);
    const act = forward(zero, window);
    const dx = backward(zero, act, lossAndGrad(act.scores, target, CONFIG).dLogits, zeroGrads(zero));
    const moved = new Set<number>();
    embeddingGrad(zero, window, act, dx, (id, g) => g.some((v) => v !== 0) && moved.add(id));
    expect([...moved].sort((a, b) => a - b)).toEqual([3, 5, 9, 12, 30]);
  });

  it('an unknown category (NaN) gets no gradient', () => {
    expect(dLogits[2]).toBe(0);
  });
});

describe('HarmAug loss', () => {
  it('is 0.5 x CE(hard) + 0.5 x KL(soft) with gradient q - 0.5y - 0.5s', () => {
    const q = 0.6;
    const { loss, dLogits } = lossAndGrad(Float32Array.of(q), { label: 1, soft: 0.8, categories: new Float32Array() }, CONFIG);
    const ce = -Math.log(q);
    const kl = 0.8 * Math.log(0.8 / q) + 0.2 * Math.log(0.2 / (1 - q));
    expect(loss).toBeCloseTo(0.5 * ce + 0.5 * kl, 5);
    expect(dLogits[0]).toBeCloseTo(q - 0.5 * 1 - 0.5 * 0.8, 6);
  });

  it('falls back to cross-entropy on the soft label when no hard label exists', () => {
    const { dLogits } = lossAndGrad(Float32Array.of(0.3), { label: null, soft: 0.9, categories: new Float32Array() }, CONFIG);
    expect(dLogits[0]).toBeCloseTo(0.3 - 0.9, 6);
  });
});

describe('metrics', () => {
  it('average precision matches the step-wise definition', () => {
    // ranks: 0.9 (pos), 0.8 (neg), 0.1 (pos): AP = 1 * 1/2 + 2/3 * 1/2
    expect(averagePrecision([0.9, 0.8, 0.1], [1, 0, 1])).toBeCloseTo(0.5 + 1 / 3, 10);
  });

  it('confusion counts add up and give precision, recall and FPR', () => {
    const c = confusion([0.9, 0.6, 0.4, 0.2], [1, 0, 1, 0], 0.5);
    expect(c).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
    expect(rates(c)).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, fpr: 0.5 });
  });

  it('an fpr rule keeps the benign false-positive rate under its bound', () => {
    const benign = Array.from({ length: 100 }, (_, i) => i / 100);
    const t = chooseThreshold('fpr:0.05', [...benign, 0.99], [...benign.map(() => 0), 1]);
    expect(benign.filter((s) => s >= t)).toHaveLength(5);
  });
});
