/**
 * Scores texts with an exported model exactly as the worker does: the shared featurizer, the
 * student's ONNX graph, and onnxruntime-web's WASM kernels (single-threaded, as in workerd).
 * The highest-scoring window of a text gives its scores, per label.
 */
import * as ort from 'onnxruntime-web';
import { featurize, packBatch, type FeatureWindow } from '../../src/guard/featurize.ts';
import type { Manifest } from '../../src/guard/manifest.ts';

ort.env.wasm.numThreads = 1;

export interface Scorer {
  /** Per text: one score per manifest label. */
  score(items: { prompt: string; response: string | null }[]): Promise<Float32Array[]>;
}

/** Windows per ONNX call; bounds memory for long texts. */
const MAX_WINDOWS_PER_RUN = 256;

/**
 * Opens an ONNX session for the model bytes.
 * @example const scorer = await createScorer(bytes, manifest); await scorer.score([{ prompt: 'hi', response: null }])
 */
export async function createScorer(modelBytes: Uint8Array, manifest: Manifest): Promise<Scorer> {
  const session = await ort.InferenceSession.create(modelBytes);
  const run = async (windows: FeatureWindow[]): Promise<Float32Array> => {
    const p = packBatch(windows);
    const out = await session.run({
      prompt_ids: new ort.Tensor('int32', p.promptIds, [p.size, p.promptLength]),
      prompt_count: new ort.Tensor('float32', p.promptCount, [p.size, 1]),
      response_ids: new ort.Tensor('int32', p.responseIds, [p.size, p.responseLength]),
      response_count: new ort.Tensor('float32', p.responseCount, [p.size, 1]),
      has_response: new ort.Tensor('float32', p.hasResponse, [p.size, 1]),
    });
    return out.scores!.data as Float32Array;
  };
  const labels = manifest.labels.length;
  return {
    async score(items) {
      const windows: FeatureWindow[] = [];
      const owner: number[] = [];
      items.forEach((item, i) => {
        for (const w of featurize(item.prompt, item.response, manifest.featurizer)) {
          windows.push(w);
          owner.push(i);
        }
      });
      const results = items.map(() => new Float32Array(labels).fill(-Infinity));
      for (let start = 0; start < windows.length; start += MAX_WINDOWS_PER_RUN) {
        const chunk = windows.slice(start, start + MAX_WINDOWS_PER_RUN);
        const scores = await run(chunk);
        chunk.forEach((_, j) => {
          const target = results[owner[start + j]!]!;
          for (let k = 0; k < labels; k++) target[k] = Math.max(target[k]!, scores[j * labels + k]!);
        });
      }
      return results;
    },
  };
}
