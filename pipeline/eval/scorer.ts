/**
 * Scores texts with an exported model exactly as the worker does: the shared featurizer, the
 * model's input contract (src/guard/model-input.ts), the student's ONNX graph, and
 * onnxruntime-web's WASM kernels (single-threaded, as in workerd). Each label of a text takes its
 * highest row (window, span or decoded reading).
 */
import * as ort from 'onnxruntime-web';
import { featurize, type FeatureWindow } from '../../src/guard/featurize.ts';
import type { Manifest } from '../../src/guard/manifest.ts';
import { MODEL_OUTPUT, SESSION_OPTIONS, contractOf, feeds, maxOverRows, runsOf } from '../../src/guard/model-input.ts';

ort.env.wasm.numThreads = 1;

export interface Scorer {
  /** Per text: one score per manifest label. */
  score(items: { prompt: string; response: string | null }[]): Promise<Float32Array[]>;
}

/**
 * Opens an ONNX session for the model bytes.
 * @throws Error when the graph speaks neither input contract
 * @example const scorer = await createScorer(bytes, manifest); await scorer.score([{ prompt: 'hi', response: null }])
 */
export async function createScorer(modelBytes: Uint8Array, manifest: Manifest): Promise<Scorer> {
  const session = await ort.InferenceSession.create(modelBytes, SESSION_OPTIONS);
  const contract = contractOf(session.inputNames);
  if (!contract) throw new Error(`the model's inputs [${session.inputNames.join(', ')}] are not a student's`);
  const run = async (windows: FeatureWindow[]): Promise<Float32Array> => {
    const tensors = Object.fromEntries(
      Object.entries(feeds(contract, windows)).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]),
    );
    const out = await session.run(tensors);
    return out[MODEL_OUTPUT]!.data as Float32Array;
  };
  const labels = manifest.labels.length;
  return {
    async score(items) {
      const windows: FeatureWindow[] = [];
      const owners: number[] = [];
      items.forEach((item, i) => {
        for (const w of featurize(item.prompt, item.response, manifest.featurizer)) {
          windows.push(w);
          owners.push(i);
        }
      });
      // runs of at most IDS_PER_RUN ids, as in the worker, so memory stays bounded
      const scores = new Float32Array(windows.length * labels);
      for (const rows of runsOf(contract, windows)) {
        const out = await run(rows.map((r) => windows[r]!));
        rows.forEach((r, k) => scores.set(out.subarray(k * labels, (k + 1) * labels), r * labels));
      }
      return maxOverRows(owners, scores, labels, items.length).map((best) => Float32Array.from(best));
    },
  };
}
