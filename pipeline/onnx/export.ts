/**
 * A checkpoint -> a model folder the worker can serve: `model.onnx` and `manifest.json`.
 * int8 rows are used only where accuracy holds: the quantised and the float graph score probe
 * texts through onnxruntime-web, and a P(harmful) gap above `maxDelta` keeps float32.
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

/** Writes model.onnx and manifest.json for a trained student. */
export async function exportModel(meta: Checkpoint, weights: StudentWeights, options: ExportOptions): Promise<ExportResult> {
  const float = encodeModel(studentGraph(weights, 'float32'));
  const int8 = encodeModel(studentGraph(weights, 'int8-rows'));
  let quantization: Quantization = options.quantization === 'auto' ? 'int8-rows' : options.quantization;
  let int8Delta = 0;
  if (quantization === 'int8-rows' && options.probes.length) {
    const provisional = buildManifest(meta, weights, int8, 'int8-rows', 'probe');
    const [a, b] = await Promise.all([createScorer(float, provisional), createScorer(int8, provisional)]);
    const [fa, fb] = await Promise.all([a.score(options.probes), b.score(options.probes)]);
    int8Delta = Math.max(...fa.map((s, i) => Math.abs(s[0]! - fb[i]![0]!)));
    if (int8Delta > options.maxDelta && options.quantization === 'auto') quantization = 'float32';
  }
  const bytes = quantization === 'int8-rows' ? int8 : float;
  const version = options.version ?? `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${sha256Hex(bytes).slice(0, 8)}`;
  const manifest = buildManifest(meta, weights, bytes, quantization, version);
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, 'model.onnx'), bytes);
  await writeFile(join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, quantization, int8Delta };
}
