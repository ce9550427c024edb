/**
 * The training loop: class-balanced sampling (sources tempered so one large set cannot drown the
 * rest), mini-batches, HarmAug's loss, lazy Adam, validation AUPRC every epoch, early stopping,
 * and the best epoch's weights kept. Reads top to bottom; all settings arrive in `TrainConfig`.
 *
 * A long example has several feature windows; as at serving time, its score is the highest
 * window's, and only that window learns from it (multiple-instance learning), so training and
 * serving agree on what a long text's score means.
 */
import type { FeatureWindow } from '../../src/guard/featurize.ts';
import { hardLabel } from '../data/schema.ts';
import { averagePrecision } from '../eval/metrics.ts';
import { lossAndGrad, type Target } from './loss.ts';
import { ADAM_DEFAULTS, DenseAdam, SparseAdam } from './optimizer.ts';
import { createRng, type Rng } from '../rng.ts';
import type { Pooling } from '../../src/guard/manifest.ts';
import { backward, embeddingGrad, forward, initStudent, zeroGrads, type StudentShape, type StudentWeights } from './student.ts';

export interface TrainExample {
  windows: FeatureWindow[];
  target: Target;
  source: string;
  /** What the text is: a request, user content, or a prompt+response pair (balanced in sampling). */
  shape: 'request' | 'content' | 'pair';
}

export interface TrainConfig {
  seed: number;
  dim: number;
  hidden: number;
  /** 'mean-max' adds each bag's per-dimension max to its mean (see student.ts). */
  pooling: Pooling;
  batchSize: number;
  lr: number;
  lrEmbedding: number;
  maxEpochs: number;
  /** Epochs without a better validation AUPRC before stopping. */
  patience: number;
  /** Examples drawn per epoch; 0 = the size of the training set. */
  samplesPerEpoch: number;
  /** Within a class, a source's share of draws grows as (its size)^temperature: 1 = by size, 0 = equal. */
  sourceTemperature: number;
  /** Extra weight of a source's share of draws (default 1), e.g. for small hand-written sets. */
  sourceWeights: Record<string, number>;
  /** Initial embedding range as a multiple of fastText's ±1/dim; 0 = all rows start at zero. */
  embeddingInit: number;
  /** Share of an example's feature ids dropped at random in training (a regulariser). */
  featureDropout: number;
  hardWeight: number;
  categoryWeight: number;
}

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valAuprc: number | null;
  seconds: number;
}

export interface TrainResult {
  weights: StudentWeights;
  history: EpochStats[];
  bestEpoch: number;
  examplesSeen: number;
  seconds: number;
}

/**
 * Draws examples so that no one kind of text can teach a shortcut: a class with probability 1/2;
 * within it a shape (request, user content, prompt+response pair) uniformly, so questions are as
 * common among benign draws as among harmful ones; then a source by (size)^temperature; then a row.
 */
function createSampler(examples: TrainExample[], temperature: number, sourceWeights: Record<string, number>, rng: Rng): () => TrainExample {
  const pick = <T>(items: T[]) => items[Math.floor(rng() * items.length)]!;
  const classes = [0, 1].map((c) => {
    const byShape = new Map<string, Map<string, TrainExample[]>>();
    for (const ex of examples) {
      if (hardLabel(ex.target.label, ex.target.soft) !== c) continue;
      const sources = byShape.get(ex.shape) ?? byShape.set(ex.shape, new Map()).get(ex.shape)!;
      const list = sources.get(ex.source);
      if (list) list.push(ex);
      else sources.set(ex.source, [ex]);
    }
    return [...byShape.values()].map((sources) => {
      const groups = [...sources.values()];
      const weights = [...sources.keys()].map((name, i) => groups[i]!.length ** temperature * (sourceWeights[name] ?? 1));
      const total = weights.reduce((a, b) => a + b, 0);
      let acc = 0;
      return { groups, cumulative: weights.map((w) => (acc += w / total)) };
    });
  });
  const usable = classes.filter((shapes) => shapes.length > 0);
  if (usable.length === 0) throw new Error('no training examples');
  return () => {
    const shape = pick(pick(usable));
    const u = rng();
    const index = shape.cumulative.findIndex((c) => u < c);
    return pick(shape.groups[index === -1 ? shape.groups.length - 1 : index]!);
  };
}

function dropFeatures(window: FeatureWindow, rate: number, rng: Rng): FeatureWindow {
  if (rate <= 0) return window;
  const keep = (ids: Int32Array) => {
    const kept = new Int32Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) if (rng() >= rate) kept[n++] = ids[i]!;
    return n ? kept.subarray(0, n) : ids;
  };
  return { prompt: keep(window.prompt), response: window.response && keep(window.response) };
}

/** Scores of an example: the highest window's, per output, and which window that was. */
export function scoreExample(weights: StudentWeights, windows: FeatureWindow[]) {
  let best = forward(weights, windows[0]!);
  let bestIndex = 0;
  const scores = Float32Array.from(best.scores);
  for (let i = 1; i < windows.length; i++) {
    const act = forward(weights, windows[i]!);
    if (act.logits[0]! > best.logits[0]!) {
      best = act;
      bestIndex = i;
    }
    for (let k = 0; k < scores.length; k++) scores[k] = Math.max(scores[k]!, act.scores[k]!);
  }
  return { scores, best, bestIndex };
}

function evaluate(weights: StudentWeights, examples: TrainExample[], config: TrainConfig) {
  const scores: number[] = [];
  const labels: number[] = [];
  let loss = 0;
  for (const ex of examples) {
    const { best } = scoreExample(weights, ex.windows);
    loss += lossAndGrad(best.scores, ex.target, config).loss;
    scores.push(best.scores[0]!);
    labels.push(hardLabel(ex.target.label, ex.target.soft));
  }
  return { loss: loss / Math.max(1, examples.length), auprc: averagePrecision(scores, labels) };
}

const copyWeights = (w: StudentWeights): StudentWeights => ({
  ...w,
  embedding: w.embedding.slice(),
  w1: w.w1.slice(),
  b1: w.b1.slice(),
  w2: w.w2.slice(),
  b2: w.b2.slice(),
});

/**
 * Trains a student from scratch.
 * @param onEpoch called after each epoch with its statistics (for logs and progress)
 * @param onBatch called after each batch with the number of examples seen in the epoch
 */
export function train(
  trainSet: TrainExample[],
  valSet: TrainExample[],
  shape: Omit<StudentShape, 'dim' | 'hidden' | 'pooling'>,
  config: TrainConfig,
  hooks: { onEpoch?: (stats: EpochStats) => void; onBatch?: (seen: number, total: number) => void } = {},
): TrainResult {
  const started = performance.now();
  const rng = createRng(config.seed);
  const weights = initStudent({ ...shape, dim: config.dim, hidden: config.hidden, pooling: config.pooling }, rng, config.embeddingInit);
  const dense = {
    w1: new DenseAdam(weights.w1.length, { ...ADAM_DEFAULTS, lr: config.lr }),
    b1: new DenseAdam(weights.b1.length, { ...ADAM_DEFAULTS, lr: config.lr }),
    w2: new DenseAdam(weights.w2.length, { ...ADAM_DEFAULTS, lr: config.lr }),
    b2: new DenseAdam(weights.b2.length, { ...ADAM_DEFAULTS, lr: config.lr }),
  };
  const sparse = new SparseAdam(weights.buckets, weights.dim, { ...ADAM_DEFAULTS, lr: config.lrEmbedding });
  const sample = createSampler(trainSet, config.sourceTemperature, config.sourceWeights, rng);
  const perEpoch = config.samplesPerEpoch || trainSet.length;

  const history: EpochStats[] = [];
  let best = { auprc: -Infinity, loss: Infinity, epoch: 0, weights: copyWeights(weights) };
  let seen = 0;
  for (let epoch = 1; epoch <= config.maxEpochs; epoch++) {
    const epochStart = performance.now();
    let trainLoss = 0;
    for (let done = 0; done < perEpoch; done += config.batchSize) {
      const batch = Math.min(config.batchSize, perEpoch - done);
      const grads = zeroGrads(weights);
      for (let b = 0; b < batch; b++) {
        const ex = sample();
        const windows = ex.windows.map((w) => dropFeatures(w, config.featureDropout, rng));
        const { best: act, bestIndex } = scoreExample(weights, windows);
        const { loss, dLogits } = lossAndGrad(act.scores, ex.target, config);
        trainLoss += loss;
        const dx = backward(weights, act, dLogits, grads);
        embeddingGrad(weights, windows[bestIndex]!, act, dx, (id, g, s) => sparse.accumulate(id, g, s));
      }
      const inv = 1 / batch;
      for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
        const g = grads[key];
        for (let i = 0; i < g.length; i++) g[i]! *= inv;
        dense[key].step(weights[key], g);
      }
      sparse.step(weights.embedding, batch);
      seen += batch;
      hooks.onBatch?.(done + batch, perEpoch);
    }
    const val = evaluate(weights, valSet, config);
    const stats: EpochStats = {
      epoch,
      trainLoss: trainLoss / perEpoch,
      valLoss: val.loss,
      valAuprc: val.auprc,
      seconds: (performance.now() - epochStart) / 1000,
    };
    history.push(stats);
    hooks.onEpoch?.(stats);
    const auprc = val.auprc ?? -val.loss;
    if (auprc > best.auprc || (auprc === best.auprc && val.loss < best.loss)) {
      best = { auprc, loss: val.loss, epoch, weights: copyWeights(weights) };
    } else if (epoch - best.epoch >= config.patience) {
      break;
    }
  }
  return { weights: best.weights, history, bestEpoch: best.epoch, examplesSeen: seen, seconds: (performance.now() - started) / 1000 };
}
