/**
 * A trained student on disk: `weights.bin` (the float32 tensors back to back) and
 * `checkpoint.json` (shapes, featurizer, labels, threshold, the resolved training config, data
 * sources and training history). `distill` writes it; `export` turns it into model.onnx + manifest.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataSourceSchema, FeaturizerConfigSchema, PoolingSchema } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';
import { inputSize, type StudentWeights } from './student.ts';

export const CheckpointSchema = z.object({
  format: z.literal('edgeguard-checkpoint-1'),
  shape: z.object({
    buckets: z.number().int(),
    dim: z.number().int(),
    hidden: z.number().int(),
    outputs: z.number().int(),
    pooling: PoolingSchema.default('mean'),
  }),
  featurizer: FeaturizerConfigSchema,
  labels: z.array(z.string()),
  openaiCategories: z.record(z.string(), z.array(z.string())),
  threshold: z.number(),
  thresholdRule: z.string(),
  categoryThresholds: z.record(z.string(), z.number()).default({}),
  config: z.record(z.string(), z.unknown()),
  dataSources: z.array(DataSourceSchema),
  training: z.record(z.string(), z.unknown()),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

const TENSORS = ['embedding', 'w1', 'b1', 'w2', 'b2'] as const;

/** Writes a checkpoint folder. */
export async function saveCheckpoint(dir: string, meta: Checkpoint, weights: StudentWeights): Promise<void> {
  await mkdir(dir, { recursive: true });
  const parts = TENSORS.map((k) => new Uint8Array(weights[k].buffer, weights[k].byteOffset, weights[k].byteLength));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.length;
  }
  await writeFile(join(dir, 'weights.bin'), bytes);
  await writeFile(join(dir, 'checkpoint.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

/** Reads a checkpoint folder, checking that the weights file matches the shapes. */
export async function loadCheckpoint(dir: string): Promise<{ meta: Checkpoint; weights: StudentWeights }> {
  let json: unknown;
  let bytes: Buffer;
  try {
    json = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8'));
    bytes = await readFile(join(dir, 'weights.bin'));
  } catch {
    throw new CLIError(`${dir} is not a checkpoint folder (checkpoint.json + weights.bin, written by distill)`);
  }
  const parsed = CheckpointSchema.safeParse(json);
  if (!parsed.success) throw new CLIError(`${dir}/checkpoint.json: ${parsed.error.issues[0]!.message}`);
  const meta = parsed.data;
  const { buckets, dim, hidden, outputs } = meta.shape;
  const sizes = { embedding: buckets * dim, w1: inputSize(meta.shape) * hidden, b1: hidden, w2: hidden * outputs, b2: outputs };
  const expected = 4 * Object.values(sizes).reduce((a, b) => a + b, 0);
  if (bytes.length !== expected) throw new CLIError(`${dir}/weights.bin has ${bytes.length} bytes, expected ${expected}`);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  let offset = 0;
  const take = (n: number) => floats.slice(offset, (offset += n));
  const weights: StudentWeights = {
    ...meta.shape,
    embedding: take(sizes.embedding),
    w1: take(sizes.w1),
    b1: take(sizes.b1),
    w2: take(sizes.w2),
    b2: take(sizes.b2),
  };
  return { meta, weights };
}
