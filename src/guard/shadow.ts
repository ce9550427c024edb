/**
 * The shadow: a candidate model scores the same inputs as the current one, after the response has
 * gone, and the two verdicts are stored side by side in R2 (`shadow/<day>/...json`) for
 * `pipeline shadow-report`. Only scores, versions and times are stored, never the texts.
 */
import { scoreInputs, verdictOf, type ClassifyInput, type ItemScores } from './classifier.ts';
import { MODEL_KEYS, type ShadowRecord } from './manifest.ts';
import type { LoadedModel } from './registry.ts';

/**
 * Scores `inputs` with `candidate` and builds the record comparing it with what `current` gave.
 * Call it without awaiting anything first: its runs are queued at once (as every holder of a
 * model must, so a swap cannot release the session under it).
 * @param currentItems the current model's scores of the same inputs, in order
 */
export async function shadowRecord(
  current: LoadedModel,
  currentItems: ItemScores[],
  candidate: LoadedModel,
  inputs: ClassifyInput[],
  route: string,
): Promise<ShadowRecord> {
  const { items } = await scoreInputs(candidate, inputs);
  const verdict = (model: LoadedModel, scores: Record<string, number>) => {
    const { score, flagged } = verdictOf(model.manifest, scores);
    return { score, flagged };
  };
  return {
    schemaVersion: 1,
    at: new Date().toISOString(),
    route,
    current: { version: current.manifest.version, threshold: current.manifest.threshold },
    candidate: { version: candidate.manifest.version, threshold: candidate.manifest.threshold },
    items: items.map((item, i) => ({ current: verdict(current, currentItems[i]!.scores), candidate: verdict(candidate, item.scores) })),
  };
}

/** Stores a record under `shadow/<day>/<time>-<random id>.json`. */
export async function writeShadowRecord(bucket: R2Bucket, record: ShadowRecord): Promise<void> {
  await bucket.put(MODEL_KEYS.shadow(record.at, crypto.randomUUID().slice(0, 8)), JSON.stringify(record), {
    httpMetadata: { contentType: 'application/json' },
  });
}
