/**
 * Adam for the dense layers and lazy Adam for the embedding table: only the rows a batch touched
 * are updated (their moments too), which is what makes training a large hashed table fast on a CPU.
 */

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Adam state for one dense parameter. */
export class DenseAdam {
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  private config: AdamConfig;

  constructor(size: number, config: AdamConfig) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.config = config;
  }

  /** Applies one step of `grad` (already averaged over the batch) to `param`. */
  step(param: Float32Array, grad: Float32Array): void {
    const { lr, beta1, beta2, eps } = this.config;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]!;
      const m = (this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g);
      const v = (this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g * g);
      param[i]! -= (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
  }
}

/** Lazy Adam over the rows of a [rows, dim] table; row 0 (padding) is never updated. */
export class SparseAdam {
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  private dim: number;
  private config: AdamConfig;
  /** Gradient accumulated for the current batch, in a scratch table, and the rows it touched. */
  private grad: Float32Array;
  private touched: Int32Array;
  private touchedCount = 0;
  private isTouched: Uint8Array;

  constructor(rows: number, dim: number, config: AdamConfig) {
    this.m = new Float32Array(rows * dim);
    this.v = new Float32Array(rows * dim);
    this.grad = new Float32Array(rows * dim);
    this.touched = new Int32Array(rows);
    this.isTouched = new Uint8Array(rows);
    this.dim = dim;
    this.config = config;
  }

  /** Adds `scale * grad` to row `id`'s gradient for this batch. */
  accumulate(id: number, grad: Float32Array, scale: number): void {
    if (id === 0) return;
    if (!this.isTouched[id]) {
      this.isTouched[id] = 1;
      this.touched[this.touchedCount++] = id;
    }
    const base = id * this.dim;
    for (let d = 0; d < this.dim; d++) this.grad[base + d]! += scale * grad[d]!;
  }

  /** Applies the accumulated gradient, divided by `batchSize`, to the touched rows of `table`. */
  step(table: Float32Array, batchSize: number): void {
    const { lr, beta1, beta2, eps } = this.config;
    const { m, v, grad, dim } = this;
    this.t++;
    const step = lr / (1 - beta1 ** this.t);
    const c2 = 1 - beta2 ** this.t;
    const inv = 1 / batchSize;
    for (let k = 0; k < this.touchedCount; k++) {
      const id = this.touched[k]!;
      this.isTouched[id] = 0;
      const base = id * dim;
      for (let i = base; i < base + dim; i++) {
        const g = grad[i]! * inv;
        grad[i] = 0;
        const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * g);
        const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * g * g);
        table[i]! -= (step * mi) / (Math.sqrt(vi / c2) + eps);
      }
    }
    this.touchedCount = 0;
  }
}
