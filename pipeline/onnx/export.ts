/**
 * A checkpoint -> a model folder the worker can serve: `model.onnx` and `manifest.json`.
 * int8 is used only where accuracy holds: the quantised and the float graph score probe texts
 * through onnxruntime-web, and a P(harmful) gap above `maxDelta` tries the next quantisation
 * (int8 columns, int8 rows, then float32).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';
import { createScorer } from '../eval/scorer.ts';
import { sha256Hex } from '../sha256.ts';
import type { Checkpoint } from '../train/checkpoint.ts';
import type { StudentWeights } from '../train/student.ts';
import { encodeModel } from './onnx-model.ts';
import { studentGraph, type Quantization } from './student-graph.ts';

export interface ExportOptions {
  out: string;
  version?: string;
  quantization: Quantization | 'auto';
  /** Largest P(harmful) difference int8 may make on a probe text. */
  maxDelta: number;
  /** Texts to compare float and int8 on. */
  probes: { prompt: string; response: string | null }[];
}

export interface ExportResult {
  manifest: Manifest;
  quantization: Quantization;
  /** Largest int8-vs-float P(harmful) difference on the probes (0 when float32 was asked for). */
  int8Delta: number;
}

function buildManifest(
  meta: Checkpoint,
  weights: StudentWeights,
  bytes: Uint8Array,
  quantization: Quantization,
  version: string,
): Manifest {
  const parameters = weights.embedding.length + weights.w1.length + weights.b1.length + weights.w2.length + weights.b2.length;
  return ManifestSchema.parse({
    schemaVersion: 1,
    version,
    createdAt: new Date().toISOString(),
    files: { model: { path: 'model.onnx', sha256: sha256Hex(bytes), bytes: bytes.length } },
    featurizer: meta.featurizer,
    model: { architecture: 'hashed-bag-mlp', dim: weights.dim, hidden: weights.hidden, pooling: weights.pooling, quantization, parameters },
    labels: meta.labels,
    openaiCategories: meta.openaiCategories,
    threshold: meta.threshold,
    categoryThresholds: meta.categoryThresholds,
    dataSources: meta.dataSources,
    training: { thresholdRule: meta.thresholdRule, ...meta.training, config: meta.config },
    metrics: {},
  });
}

// Fastest first: 'auto' takes the first whose probe scores hold.
const INT8: Quantization[] = ['int8-columns', 'int8-rows'];

/** Writes model.onnx and manifest.json for a trained student. */
export async function exportModel(meta: Checkpoint, weights: StudentWeights, options: ExportOptions): Promise<ExportResult> {
  const { quantization, bytes, int8Delta } = await choose(meta, weights, options);
  const version = options.version ?? `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${sha256Hex(bytes).slice(0, 8)}`;
  const manifest = buildManifest(meta, weights, bytes, quantization, version);
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, 'model.onnx'), bytes);
  await writeFile(join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, quantization, int8Delta };
}

/**
 * The quantisation asked for, or with 'auto' the fastest int8 one whose probe scores hold (else
 * float32), with its largest probe change (with float32 after 'auto', the last int8 one's).
 */
async function choose(
  meta: Checkpoint,
  weights: StudentWeights,
  options: ExportOptions,
): Promise<{ quantization: Quantization; bytes: Uint8Array; int8Delta: number }> {
  // encoded only when probes compare against it or it is the answer
  let floatBytes: Uint8Array | undefined;
  const float = () => (floatBytes ??= encodeModel(studentGraph(weights, 'float32')));
  const candidates = options.quantization === 'auto' ? INT8 : options.quantization === 'float32' ? [] : [options.quantization];
  let int8Delta = 0;
  for (const quantization of candidates) {
    const bytes = encodeModel(studentGraph(weights, quantization));
    int8Delta = options.probes.length ? await probeDelta(meta, weights, float(), bytes, quantization, options.probes) : 0;
    if (options.quantization !== 'auto' || int8Delta <= options.maxDelta) return { quantization, bytes, int8Delta };
  }
  return { quantization: 'float32', bytes: float(), int8Delta };
}

/** Largest P(harmful) difference between the float graph and an int8 one on the probe texts. */
async function probeDelta(
  meta: Checkpoint,
  weights: StudentWeights,
  float: Uint8Array,
  int8: Uint8Array,
  quantization: Quantization,
  probes: ExportOptions['probes'],
): Promise<number> {
  const provisional = buildManifest(meta, weights, int8, quantization, 'probe');
  const [a, b] = await Promise.all([createScorer(float, provisional), createScorer(int8, provisional)]);
  const [fa, fb] = await Promise.all([a.score(probes), b.score(probes)]);
  return Math.max(...fa.map((s, i) => Math.abs(s[0]! - fb[i]![0]!)));
}
