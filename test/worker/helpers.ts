/** Shared by the worker suites: seeding the R2 bucket and calling the worker. */
import { env, exports } from 'cloudflare:workers';
import { forward } from '../../pipeline/train/student.ts';
import { featurize } from '../../src/guard/featurize.ts';
import { MODEL_KEYS, type Manifest } from '../../src/guard/manifest.ts';
import type { FixtureModel } from '../fixtures/fixture-model.ts';

/** Scratch buckets that test/worker/vitest.config.ts adds, one per suite that empties its own. */
export const scratch = env as unknown as { REGISTRY_TEST: R2Bucket; GUARD_TEST: R2Bucket; SHIPPED_TEST: R2Bucket; SWAP_TEST: R2Bucket };

/** Puts a model's files and (unless `pointer: false`) the pointer naming it. */
export async function seedModel(
  bucket: R2Bucket,
  model: { bytes: Uint8Array; manifest: Manifest } | FixtureModel,
  options: { pointer?: boolean } = {},
): Promise<void> {
  const { version } = model.manifest;
  await bucket.put(MODEL_KEYS.model(version), model.bytes);
  await bucket.put(MODEL_KEYS.manifest(version), JSON.stringify(model.manifest));
  if (options.pointer ?? true) await bucket.put(MODEL_KEYS.pointer, JSON.stringify({ version }));
}

/** Deletes every object of the bucket. */
export async function emptyBucket(bucket: R2Bucket): Promise<void> {
  const listed = await bucket.list();
  await Promise.all(listed.objects.map((o) => bucket.delete(o.key)));
}

/** A request to the worker under test (src/index.ts), through its own fetch handler. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://edgeguard.test${path}`, init);
}

/** A JSON POST to the worker under test. */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON error of a response. */
export async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

/**
 * What the fixture must score, from the plain TypeScript forward pass (pipeline/train/student.ts):
 * each label's maximum over the text's windows. ORT has to agree to float precision.
 */
export function expectedScores(fixture: FixtureModel, prompt: string, response: string | null = null): Record<string, number> {
  const best = fixture.manifest.labels.map(() => -Infinity);
  for (const window of featurize(prompt, response, fixture.manifest.featurizer)) {
    const { scores } = forward(fixture.weights, window);
    scores.forEach((s, i) => (best[i] = Math.max(best[i]!, s)));
  }
  return Object.fromEntries(fixture.manifest.labels.map((label, i) => [label, best[i]!]));
}
