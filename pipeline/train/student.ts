/**
 * The student's maths in plain TypeScript: a fastText-style embedding bag for the prompt and one
 * for the response, concatenated with a has-response flag, then a one-hidden-layer MLP with one
 * sigmoid output per label. Forward and backward for one feature window; the ONNX export
 * (pipeline/onnx/student-graph.ts) computes exactly this forward pass.
 *
 * Each bag is the mean of its rows and, with `pooling: 'mean-max'`, also their per-dimension max
 * (floored at zero, so padding rows change nothing): one strong feature ("bioweapon") then still
 * counts when many harmless words dilute the mean.
 */
import type { FeatureWindow } from '../../src/guard/featurize.ts';
import type { Pooling } from '../../src/guard/manifest.ts';
import type { Rng } from '../rng.ts';

export interface StudentShape {
  buckets: number;
  dim: number;
  hidden: number;
  outputs: number;
  /** How a bag of rows becomes a vector. */
  pooling: Pooling;
}

/**
 * Width of the MLP's input: [prompt mean, response mean, has-response flag], then with
 * 'mean-max' [prompt max, response max].
 */
export const inputSize = (s: StudentShape) => (s.pooling === 'mean-max' ? 4 : 2) * s.dim + 1;

/** Where the max block (prompt max, then response max) starts in the MLP's input. */
const maxStart = (dim: number) => 2 * dim + 1;

export interface StudentWeights extends StudentShape {
  embedding: Float32Array; // [buckets, dim]; row 0 stays zero (padding)
  w1: Float32Array; // [inputSize, hidden]
  b1: Float32Array; // [hidden]
  w2: Float32Array; // [hidden, outputs]
  b2: Float32Array; // [outputs]
}

/** Everything the backward pass needs from the forward pass of one window. */
export interface Activations {
  x: Float32Array; // [inputSize]
  /** With 'mean-max': per max dimension (prompt then response), the id whose row won, or -1 if zero did. */
  argmax: Int32Array | null;
  hidden: Float32Array; // after ReLU
  logits: Float32Array;
  scores: Float32Array;
}

/** Gradients of the dense layers (the embedding's are applied sparsely, row by row). */
export interface DenseGrads {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Random initial weights: uniform embeddings in ±embeddingScale/dim (fastText's init at scale 1),
 * He-scaled MLP. At scale 0 every row starts at zero, so a feature never seen in training (a hash
 * bucket no training text reached) adds nothing to a text's mean instead of random noise.
 */
export function initStudent(shape: StudentShape, rng: Rng, embeddingScale = 1): StudentWeights {
  const { buckets, dim, hidden, outputs } = shape;
  const input = inputSize(shape);
  const uniform = (n: number, limit: number) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * limit);
  const embedding = uniform(buckets * dim, embeddingScale / dim);
  embedding.fill(0, 0, dim);
  return {
    ...shape,
    embedding,
    w1: uniform(input * hidden, Math.sqrt(6 / input)),
    b1: new Float32Array(hidden),
    w2: uniform(hidden * outputs, Math.sqrt(6 / (hidden + outputs))),
    b2: new Float32Array(outputs),
  };
}

export function zeroGrads(w: StudentShape): DenseGrads {
  return {
    w1: new Float32Array(inputSize(w) * w.hidden),
    b1: new Float32Array(w.hidden),
    w2: new Float32Array(w.hidden * w.outputs),
    b2: new Float32Array(w.outputs),
  };
}

function bagMean(w: StudentWeights, ids: Int32Array, out: Float32Array, offset: number): void {
  const { dim, embedding } = w;
  for (const id of ids) {
    const row = id * dim;
    for (let d = 0; d < dim; d++) out[offset + d]! += embedding[row + d]!;
  }
  const inv = 1 / Math.max(1, ids.length);
  for (let d = 0; d < dim; d++) out[offset + d]! *= inv;
}

/** Per-dimension max of the rows and zero, written at `offset`; `argmax` gets the winning ids. */
function bagMax(w: StudentWeights, ids: Int32Array, out: Float32Array, offset: number, argmax: Int32Array, at: number): void {
  const { dim, embedding } = w;
  for (const id of ids) {
    const row = id * dim;
    for (let d = 0; d < dim; d++) {
      const v = embedding[row + d]!;
      if (v > out[offset + d]!) {
        out[offset + d] = v;
        argmax[at + d] = id;
      }
    }
  }
}

/** Forward pass of one window. */
export function forward(w: StudentWeights, window: FeatureWindow): Activations {
  const { dim, hidden, outputs } = w;
  const input = inputSize(w);
  const x = new Float32Array(input);
  const argmax = w.pooling === 'mean-max' ? new Int32Array(2 * dim).fill(-1) : null;
  bagMean(w, window.prompt, x, 0);
  if (argmax) bagMax(w, window.prompt, x, maxStart(dim), argmax, 0);
  if (window.response) {
    bagMean(w, window.response, x, dim);
    x[2 * dim] = 1;
    if (argmax) bagMax(w, window.response, x, maxStart(dim) + dim, argmax, dim);
  }
  const h = new Float32Array(hidden);
  h.set(w.b1);
  for (let i = 0; i < input; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * hidden;
    for (let j = 0; j < hidden; j++) h[j]! += xi * w.w1[row + j]!;
  }
  for (let j = 0; j < hidden; j++) if (h[j]! < 0) h[j] = 0;
  const logits = new Float32Array(outputs);
  logits.set(w.b2);
  for (let j = 0; j < hidden; j++) {
    const hj = h[j]!;
    if (hj === 0) continue;
    const row = j * outputs;
    for (let k = 0; k < outputs; k++) logits[k]! += hj * w.w2[row + k]!;
  }
  return { x, argmax, hidden: h, logits, scores: logits.map(sigmoid) };
}

/**
 * Backward pass of one window, given dLoss/dLogits. Adds the dense gradients into `grads` and
 * returns dLoss/dx, from which the caller derives the embedding rows' gradients
 * (`embeddingGrad`).
 */
export function backward(w: StudentWeights, act: Activations, dLogits: Float32Array, grads: DenseGrads): Float32Array {
  const { hidden, outputs } = w;
  const input = inputSize(w);
  const dh = new Float32Array(hidden);
  for (let k = 0; k < outputs; k++) grads.b2[k]! += dLogits[k]!;
  for (let j = 0; j < hidden; j++) {
    const hj = act.hidden[j]!;
    if (hj === 0) continue; // ReLU was off: no gradient flows through j
    const row = j * outputs;
    let s = 0;
    for (let k = 0; k < outputs; k++) {
      grads.w2[row + k]! += hj * dLogits[k]!;
      s += w.w2[row + k]! * dLogits[k]!;
    }
    dh[j] = s;
  }
  const dx = new Float32Array(input);
  for (let j = 0; j < hidden; j++) grads.b1[j]! += dh[j]!;
  for (let i = 0; i < input; i++) {
    const xi = act.x[i]!;
    const row = i * hidden;
    let s = 0;
    for (let j = 0; j < hidden; j++) {
      const g = dh[j]!;
      if (g === 0) continue;
      if (xi !== 0) grads.w1[row + j]! += xi * g;
      s += w.w1[row + j]! * g;
    }
    dx[i] = s;
  }
  return dx;
}

/**
 * Calls `visit(id, gradRow, scale)` for every feature id of the window: each id's embedding row
 * receives `scale * gradRow` (the mean's gradient is split evenly over its ids; a max dimension's
 * goes to the row that won it).
 */
export function embeddingGrad(
  w: StudentShape,
  window: FeatureWindow,
  act: Activations,
  dx: Float32Array,
  visit: (id: number, grad: Float32Array, scale: number) => void,
): void {
  const promptGrad = dx.subarray(0, w.dim);
  const promptScale = 1 / Math.max(1, window.prompt.length);
  for (const id of window.prompt) visit(id, promptGrad, promptScale);
  if (window.response) {
    const responseGrad = dx.subarray(w.dim, 2 * w.dim);
    const responseScale = 1 / Math.max(1, window.response.length);
    for (const id of window.response) visit(id, responseGrad, responseScale);
  }
  if (!act.argmax) return;
  for (const half of [0, w.dim]) {
    const rows = new Map<number, Float32Array>();
    for (let d = 0; d < w.dim; d++) {
      const id = act.argmax[half + d]!;
      if (id < 0) continue;
      const row = rows.get(id) ?? rows.set(id, new Float32Array(w.dim)).get(id)!;
      row[d] = dx[maxStart(w.dim) + half + d]!;
    }
    for (const [id, row] of rows) visit(id, row, 1);
  }
}
