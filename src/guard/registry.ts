/**
 * The read side of the model registry. The R2 bucket holds `models/current.json` (the pointer),
 * `models/<version>/manifest.json` and `models/<version>/model.onnx`. A registry loads the version
 * the pointer names, checks the manifest and the model's sha256 before using it, keeps it for the
 * life of the isolate and swaps in a new version when the pointer moves.
 */
import { MODEL_KEYS, ManifestSchema, PointerSchema, type Manifest } from './manifest.ts';
import { createSession, type ModelSession } from './runtime.ts';

/** No model can be served; `message` says why (missing pointer, bad hash, ...). */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/** A verified model with its live ORT session. */
export interface LoadedModel {
  manifest: Manifest;
  session: ModelSession;
  /** Epoch milliseconds when it became the serving model. */
  loadedAt: number;
  /** Milliseconds from reading the pointer to a ready session (includes ORT start-up the first time). */
  loadMs: number;
}

export interface RegistryOptions {
  /** How long a loaded model is served before the pointer is read again. Default 60 s. */
  refreshMs?: number;
  /** How long a version that failed to load is not retried (while the pointer still names it). Default 10 s. */
  failureRetryMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Loads and caches the serving model of one isolate. */
export interface ModelRegistry {
  /**
   * The serving model, loading it or following a moved pointer when due. While a model is
   * loaded, a failure to load a newer one keeps the loaded one serving.
   * @throws ModelUnavailableError when there is no usable model at all
   */
  get(bucket: R2Bucket): Promise<LoadedModel>;
  /** The loaded model, without touching R2; `null` before the first successful load. */
  peek(): LoadedModel | null;
  /** Why the last load failed, or `null` if it did not. */
  lastError(): string | null;
}

async function readJson(bucket: R2Bucket, key: string): Promise<unknown> {
  const object = await bucket.get(key);
  if (!object) throw new ModelUnavailableError(`R2 key ${key} is missing`);
  try {
    return JSON.parse(await object.text());
  } catch {
    throw new ModelUnavailableError(`R2 key ${key} is not valid JSON`);
  }
}

function describeIssue(issues: readonly { path: PropertyKey[]; message: string }[]): string {
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
  const top = manifest.featurizer.buckets - 1;
  const one = Float32Array.of(1);
  const { width } = await session.run({
    size: 1,
    promptIds: Int32Array.of(top),
    promptLength: 1,
    promptCount: one,
    responseIds: Int32Array.of(top),
    responseLength: 1,
    responseCount: one,
    hasResponse: one,
  });
  if (width !== manifest.labels.length) {
    throw new ModelUnavailableError(`model has ${width} outputs but the manifest lists ${manifest.labels.length} labels`);
  }
}

async function loadVersion(bucket: R2Bucket, version: string): Promise<Omit<LoadedModel, 'loadedAt' | 'loadMs'>> {
  const parsed = ManifestSchema.safeParse(await readJson(bucket, MODEL_KEYS.manifest(version)));
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

function asUnavailable(error: unknown): ModelUnavailableError {
  if (error instanceof ModelUnavailableError) return error;
  return new ModelUnavailableError(`model registry failed: ${(error as Error)?.message ?? error}`, { cause: error });
}

/**
 * Creates a registry. The worker makes one per isolate (module scope), so every request of the
 * isolate shares one loaded model and one ORT session.
 * @param options refresh and retry intervals (defaults: 60 s, 10 s)
 * @example
 * const registry = createRegistry();
 * const model = await registry.get(env.MODELS); // throws ModelUnavailableError if none
 */
export function createRegistry(options: RegistryOptions = {}): ModelRegistry {
  const refreshMs = options.refreshMs ?? 60_000;
  const failureRetryMs = options.failureRetryMs ?? 10_000;
  const now = options.now ?? Date.now;
  let current: LoadedModel | null = null;
  let checkedAt = 0;
  let failure: { version: string | null; error: ModelUnavailableError; at: number } | null = null;
  let inflight: Promise<LoadedModel> | null = null;

  async function refresh(bucket: R2Bucket): Promise<LoadedModel> {
    const started = now();
    let version: string | null = null;
    try {
      const pointer = PointerSchema.safeParse(await readJson(bucket, MODEL_KEYS.pointer));
      if (!pointer.success) throw new ModelUnavailableError(`${MODEL_KEYS.pointer} is invalid: ${describeIssue(pointer.error.issues)}`);
      version = pointer.data.version;
      if (current && current.manifest.version === version) {
        checkedAt = now();
        return current;
      }
      if (failure && failure.version === version && now() - failure.at < failureRetryMs) throw failure.error;
      const loaded = await loadVersion(bucket, version);
      const previous = current;
      current = { ...loaded, loadedAt: now(), loadMs: now() - started };
      checkedAt = now();
      failure = null;
      // Queued behind every run already scheduled on it (runs are serialised), so in-flight
      // requests finish on the old session.
      if (previous) void previous.session.release();
      return current;
    } catch (error) {
      const unavailable = asUnavailable(error);
      if (failure?.error !== unavailable) failure = { version, error: unavailable, at: now() };
      if (current) {
        console.error(`edgeguard: keeping model ${current.manifest.version}: ${unavailable.message}`);
        checkedAt = now();
        return current;
      }
      throw unavailable;
    }
  }

  return {
    get(bucket) {
      if (current && now() - checkedAt < refreshMs) return Promise.resolve(current);
      inflight ??= refresh(bucket).finally(() => {
        inflight = null;
      });
      return inflight;
    },
    peek: () => current,
    lastError: () => failure?.error.message ?? null,
  };
}

let shared: ModelRegistry | null = null;

/**
 * The isolate's registry: the API routes and every `guard()` that names no other share it, so one
 * model and one ORT session serve them all.
 */
export function sharedRegistry(): ModelRegistry {
  shared ??= createRegistry();
  return shared;
}
