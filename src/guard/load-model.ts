/**
 * Loading one model version from R2 as the worker serves it: the manifest (schema and internal
 * consistency), `model.onnx` (size and sha256 against the manifest), an ORT session and one probe
 * run. Anything that fails is a ModelUnavailableError naming the reason.
 */
import { MODEL_KEYS, ManifestSchema, type Manifest } from './manifest.ts';
import { createSession, type ModelSession } from './runtime.ts';

/** No model can be served; `message` says why (missing pointer, bad hash, ...). */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/** The version asked for is not deployed: its manifest is not in the bucket. */
export class UnknownVersionError extends ModelUnavailableError {
  override name = 'UnknownVersionError';
}

/** A verified model with its live ORT session. */
export interface LoadedModel {
  manifest: Manifest;
  session: ModelSession;
  /** Epoch milliseconds when it was loaded. */
  loadedAt: number;
  /** Milliseconds from reading the pointer to a ready session (includes ORT start-up the first time). */
  loadMs: number;
}

/**
 * A JSON object from R2.
 * @param Missing the error for a missing key
 * @throws ModelUnavailableError when it is not JSON (or missing)
 */
export async function readJson(bucket: R2Bucket, key: string, Missing = ModelUnavailableError): Promise<unknown> {
  const object = await bucket.get(key);
  if (!object) throw new Missing(`R2 key ${key} is missing`);
  try {
    return JSON.parse(await object.text());
  } catch {
    throw new ModelUnavailableError(`R2 key ${key} is not valid JSON`);
  }
}

/** The first zod issue as `path: message`. */
export function describeIssue(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const issue = issues[0];
  return issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

/** Checks the parts of a manifest the schema cannot: they refer to each other. */
function checkConsistency(manifest: Manifest, version: string): void {
  const fail = (why: string) => {
    throw new ModelUnavailableError(`manifest of ${version} is inconsistent: ${why}`);
  };
  if (manifest.version !== version) fail(`it names version ${manifest.version}`);
  const labels = new Set(manifest.labels);
  if (labels.size !== manifest.labels.length) fail('labels repeat');
  for (const label of Object.keys(manifest.openaiCategories)) {
    if (!labels.has(label)) fail(`openaiCategories names unknown label '${label}'`);
  }
  for (const label of Object.keys(manifest.categoryThresholds)) {
    if (!labels.has(label)) fail(`categoryThresholds names unknown label '${label}'`);
  }
  const { charNgramMin, charNgramMax } = manifest.featurizer;
  if (charNgramMin > charNgramMax) fail('featurizer.charNgramMin > charNgramMax');
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One probe run with the highest bucket id on both sides: proves the embedding table has the
 * manifest's `buckets` rows and the output has one column per label.
 */
async function probe(session: ModelSession, manifest: Manifest): Promise<void> {
  const top = Int32Array.of(manifest.featurizer.buckets - 1);
  const { width } = await session.run([{ prompt: top, response: top }]);
  if (width !== manifest.labels.length) {
    throw new ModelUnavailableError(`model has ${width} outputs but the manifest lists ${manifest.labels.length} labels`);
  }
}

/**
 * Loads and checks one version.
 * @throws UnknownVersionError when its manifest is not in the bucket
 * @throws ModelUnavailableError when it fails any check
 */
export async function loadVersion(bucket: R2Bucket, version: string): Promise<Omit<LoadedModel, 'loadedAt' | 'loadMs'>> {
  const parsed = ManifestSchema.safeParse(await readJson(bucket, MODEL_KEYS.manifest(version), UnknownVersionError));
  if (!parsed.success) throw new ModelUnavailableError(`manifest of ${version} is invalid: ${describeIssue(parsed.error.issues)}`);
  const manifest = parsed.data;
  checkConsistency(manifest, version);
  const key = MODEL_KEYS.model(version);
  const object = await bucket.get(key);
  if (!object) throw new ModelUnavailableError(`R2 key ${key} is missing`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  const expected = manifest.files.model;
  if (bytes.byteLength !== expected.bytes) {
    throw new ModelUnavailableError(`${key} has ${bytes.byteLength} bytes, the manifest says ${expected.bytes}`);
  }
  if ((await sha256Hex(bytes)) !== expected.sha256) throw new ModelUnavailableError(`${key} does not match the manifest's sha256`);
  let session: ModelSession;
  try {
    session = await createSession(bytes);
  } catch (error) {
    throw new ModelUnavailableError(`${version}: ${(error as Error).message}`, { cause: error });
  }
  try {
    await probe(session, manifest);
  } catch (error) {
    await session.release();
    if (error instanceof ModelUnavailableError) throw error;
    throw new ModelUnavailableError(`${version} failed its probe run: ${(error as Error).message}`, { cause: error });
  }
  return { manifest, session };
}
