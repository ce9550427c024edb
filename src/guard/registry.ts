/**
 * The model registry of one isolate: which versions are loaded, and which one serves. It reads
 * the pointers `models/current.json` and `models/candidate.json` at most once per TTL; a version
 * they newly name is loaded (and checked, see load-model.ts) in the background while the loaded
 * one keeps serving, then swapped in by one assignment. A request keeps the model it was handed
 * to the end: a replaced session is released only after the runs already queued on it. A version
 * that fails is refused, the previous one keeps serving, and the failure is reported until the
 * pointer moves on or the version loads. Callers may also ask for a given version (pinning), but
 * only one the operator made reachable: the serving one, the one the current pointer names, the
 * versions in its history (what `rollback` can bring back), the candidate, and any the caller's
 * API key lists; any other is refused as if it were not deployed, and never loaded. The few most
 * recently used besides the serving ones stay loaded. A session that failed fatally (WASM out of
 * memory, a trap) is forgotten, so the next request loads its version again.
 */
import { ModelUnavailableError, UnknownVersionError, describeIssue, loadVersion, type LoadedModel } from './load-model.ts';
import { MODEL_KEYS, PointerRecordSchema, PointerSchema, VERSION_PATTERN } from './manifest.ts';

export { ModelUnavailableError, UnknownVersionError, type LoadedModel } from './load-model.ts';

export interface RegistryOptions {
  /** How long the pointers are trusted before they are read again; when set, it wins over `GetOptions.refreshMs`. Default 30 s. */
  refreshMs?: number;
  /** How long a version that failed to load is not retried. Default 10 s. */
  failureRetryMs?: number;
  /** Versions kept loaded besides current and candidate (replaced or pinned ones, least recently used dropped first). Default 2. */
  keepLoaded?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Per-request settings of `get()`. */
export interface GetOptions {
  /** The TTL when the registry was created without `refreshMs`: the worker passes its `MODEL_TTL_SECONDS`. */
  refreshMs?: number;
  /**
   * Keeps a background refresh alive past the response (the request's `ctx.waitUntil`). With it, a
   * loaded model is returned at once and a moved pointer is followed in the background; without
   * it, a due refresh is awaited.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Per-request settings of `version()`. */
export interface PinOptions extends GetOptions {
  /** Versions this caller may pin besides those the pointers name (its API key's list). */
  alsoAllowed?: readonly string[];
}

/** A version a pointer names that could not be loaded, while another one (if any) serves. */
export interface LoadFailure {
  /** `null` when the pointer itself could not be read. */
  version: string | null;
  message: string;
  /** Epoch milliseconds of the first failure. */
  at: number;
}

/** What the registry holds, for /healthz and /v1/models. */
export interface RegistryStatus {
  current: LoadedModel | null;
  currentError: LoadFailure | null;
  candidate: LoadedModel | null;
  candidateError: LoadFailure | null;
  /** Every loaded version, serving or not. */
  loaded: LoadedModel[];
}

/** Loads and caches the models of one isolate. */
export interface ModelRegistry {
  /**
   * The serving model, loading it or following a moved pointer when due. While a model is
   * loaded, a failure to load a newer one keeps the loaded one serving.
   * @throws ModelUnavailableError when there is no usable model at all
   */
  get(bucket: R2Bucket, options?: GetOptions): Promise<LoadedModel>;
  /**
   * A given version, loaded or loaded now, when the caller may pin it: the serving version, the
   * current pointer's version and history, the candidate (the pointers as of the last read,
   * refreshed as `get()` does), or one of `options.alsoAllowed`.
   * @param options the TTL and `waitUntil` of `get()`, and the caller's own allowed versions
   * @throws UnknownVersionError when it is not deployed, not a version name, or not one the
   *   caller may pin (then nothing is read or loaded)
   * @throws ModelUnavailableError when it fails its checks
   */
  version(bucket: R2Bucket, version: string, options?: PinOptions): Promise<LoadedModel>;
  /** The loaded shadow candidate, when the candidate pointer names a loadable version other than the serving one. */
  candidate(): LoadedModel | null;
  /**
   * Resolves once the pointer read in flight, if any, is done (at once when none is): what
   * `candidate()` says after it includes a candidate that read found. Never rejects.
   */
  settled(): Promise<void>;
  /** The loaded model, without touching R2; `null` before the first successful load. */
  peek(): LoadedModel | null;
  /** Why the version the current pointer names is not serving, or `null`. */
  lastError(): string | null;
  status(): RegistryStatus;
}

/** The pointer TTL when neither the registry nor the request sets one. */
const DEFAULT_REFRESH_MS = 30_000;

interface Failure {
  version: string | null;
  error: ModelUnavailableError;
  at: number;
}

function asUnavailable(error: unknown): ModelUnavailableError {
  if (error instanceof ModelUnavailableError) return error;
  return new ModelUnavailableError(`model registry failed: ${(error as Error)?.message ?? error}`, { cause: error });
}

/** What a pointer says: its version and the versions it named before (newest first). */
interface PointerVersions {
  version: string;
  history: string[];
}

/**
 * What a pointer names, or `null` when there is no pointer. Only `version` must be valid: a
 * history that is not (a pointer edited by hand) reads as none, so it never stops serving.
 */
async function readPointer(bucket: R2Bucket, key: string): Promise<PointerVersions | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(await object.text());
  } catch {
    throw new ModelUnavailableError(`R2 key ${key} is not valid JSON`);
  }
  const pointer = PointerSchema.safeParse(raw);
  if (!pointer.success) throw new ModelUnavailableError(`${key} is invalid: ${describeIssue(pointer.error.issues)}`);
  const history = PointerRecordSchema.shape.history.safeParse((raw as { history?: unknown }).history);
  return { version: pointer.data.version, history: history.success ? history.data.map((entry) => entry.version) : [] };
}

const reported = (failure: Failure | null): LoadFailure | null =>
  failure && { version: failure.version, message: failure.error.message, at: failure.at };

/**
 * Creates a registry. The worker makes one per isolate (module scope), so every request of the
 * isolate shares the loaded models and their ORT sessions.
 * @param options TTL, retry interval, how many extra versions stay loaded (defaults: 30 s, 10 s, 2)
 * @example
 * const registry = createRegistry();
 * const model = await registry.get(env.MODELS, { waitUntil: (p) => ctx.waitUntil(p) }); // throws ModelUnavailableError if none
 */
export function createRegistry(options: RegistryOptions = {}): ModelRegistry {
  const failureRetryMs = options.failureRetryMs ?? 10_000;
  const keepLoaded = options.keepLoaded ?? 2;
  const now = options.now ?? Date.now;
  const loaded = new Map<string, LoadedModel>();
  const loading = new Map<string, Promise<LoadedModel>>();
  const failures = new Map<string, Failure>();
  /** Loaded versions that do not serve, most recently used first. */
  let recent: string[] = [];
  let current: LoadedModel | null = null;
  let candidate: LoadedModel | null = null;
  let currentError: Failure | null = null;
  let candidateError: Failure | null = null;
  let checkedAt = 0;
  let inflight: Promise<LoadedModel> | null = null;
  /** What the pointers named at their last successful read: the versions a caller may pin. */
  let currentPointer: PointerVersions | null = null;
  let candidatePointer: string | null = null;

  /** A version, loaded once however many ask at the same time; a recent failure is not retried. */
  function load(bucket: R2Bucket, version: string): Promise<LoadedModel> {
    const have = loaded.get(version);
    if (have) return Promise.resolve(have);
    const failed = failures.get(version);
    if (failed && now() - failed.at < failureRetryMs) return Promise.reject(failed.error);
    let pending = loading.get(version);
    if (!pending) {
      const started = now();
      pending = loadVersion(bucket, version)
        .then(
          (model) => {
            const entry = { ...model, loadedAt: now(), loadMs: now() - started };
            loaded.set(version, entry);
            failures.delete(version);
            return entry;
          },
          (error: unknown) => {
            const unavailable = asUnavailable(error);
            failures.set(version, { version, error: unavailable, at: now() });
            throw unavailable;
          },
        )
        .finally(() => loading.delete(version));
      loading.set(version, pending);
    }
    return pending;
  }

  const touch = (version: string) => {
    recent = [version, ...recent.filter((v) => v !== version)];
  };

  /**
   * Releases the loaded versions that neither serve nor are among the `keepLoaded` most recently
   * used. A release is queued behind the runs already scheduled on the session, and every holder
   * of a model schedules its runs without awaiting I/O first (see scoreInputs), so requests in
   * flight finish on the model they were handed.
   */
  function sweep(): void {
    const serving = new Set([current?.manifest.version, candidate?.manifest.version]);
    recent = recent.filter((v) => loaded.has(v) && !serving.has(v)).slice(0, keepLoaded);
    const keep = new Set([...serving, ...recent]);
    for (const [version, model] of loaded) {
      if (keep.has(version)) continue;
      loaded.delete(version);
      void model.session.release();
    }
  }

  function failed(previous: Failure | null, version: string | null, error: unknown): Failure {
    const unavailable = asUnavailable(error);
    // the same error again (a failure not yet due for retry) keeps its first time
    return previous?.error === unavailable ? previous : { version, error: unavailable, at: now() };
  }

  async function followCurrent(bucket: R2Bucket): Promise<LoadedModel> {
    let version: string | null = null;
    try {
      currentPointer = await readPointer(bucket, MODEL_KEYS.pointer);
      version = currentPointer?.version ?? null;
      if (version === null) throw new ModelUnavailableError(`R2 key ${MODEL_KEYS.pointer} is missing`);
      const model = await load(bucket, version);
      if (current && current !== model) touch(current.manifest.version);
      current = model;
      currentError = null;
      return model;
    } catch (error) {
      currentError = failed(currentError, version, error);
      if (!current) throw currentError.error;
      console.error(`edgeguard: keeping model ${current.manifest.version}: ${currentError.error.message}`);
      return current;
    }
  }

  async function followCandidate(bucket: R2Bucket): Promise<void> {
    let version: string | null = null;
    try {
      candidatePointer = version = (await readPointer(bucket, MODEL_KEYS.candidate))?.version ?? null;
      if (version === null) {
        if (candidate) touch(candidate.manifest.version);
        candidate = null;
        candidateError = null;
        return;
      }
      const model = await load(bucket, version);
      if (candidate && candidate !== model) touch(candidate.manifest.version);
      candidate = model;
      candidateError = null;
    } catch (error) {
      candidateError = failed(candidateError, version, error);
      candidate = null;
      console.error(`edgeguard: no shadow candidate: ${candidateError.error.message}`);
    }
  }

  /**
   * Forgets every loaded version whose session failed fatally (WASM out of memory, a trap), so
   * the next request loads it again from R2 into a new session instead of failing forever.
   */
  function dropBroken(): void {
    for (const [version, model] of loaded) {
      const failure = model.session.failure();
      if (!failure) continue;
      loaded.delete(version);
      void model.session.release().catch(() => {});
      console.error(
        JSON.stringify({
          level: 'error',
          event: 'model_dropped',
          version,
          message: `session dropped after a fatal run error, reloading: ${failure.message}`,
        }),
      );
      if (current === model) {
        current = null;
        checkedAt = 0;
      }
      if (candidate === model) candidate = null;
    }
  }

  async function refresh(bucket: R2Bucket): Promise<LoadedModel> {
    const [serving] = await Promise.allSettled([followCurrent(bucket), followCandidate(bucket)]);
    checkedAt = now();
    sweep();
    if (serving.status === 'rejected') throw serving.reason;
    return serving.value;
  }

  function get(bucket: R2Bucket, getOptions: GetOptions = {}): Promise<LoadedModel> {
    dropBroken();
    const ttl = options.refreshMs ?? getOptions.refreshMs ?? DEFAULT_REFRESH_MS;
    if (current && now() - checkedAt < ttl) return Promise.resolve(current);
    inflight ??= refresh(bucket).finally(() => {
      inflight = null;
    });
    if (current && getOptions.waitUntil) {
      getOptions.waitUntil(inflight.catch(() => {}));
      return Promise.resolve(current);
    }
    return inflight;
  }

  /** Whether the operator made `version` reachable (see `version()`), or the caller's key lists it. */
  function mayPin(version: string, alsoAllowed: readonly string[] = []): boolean {
    return (
      version === current?.manifest.version ||
      version === currentPointer?.version ||
      currentPointer?.history.includes(version) === true ||
      version === candidatePointer ||
      alsoAllowed.includes(version)
    );
  }

  return {
    get,
    async version(bucket, version, pinOptions = {}) {
      if (!VERSION_PATTERN.test(version)) throw new UnknownVersionError(`'${version}' is not a model version name`);
      // The pointers say what may be pinned: read them as a request for the current model does.
      // No usable current model is that request's problem, not this one's.
      await get(bucket, pinOptions).catch((error: unknown) => {
        if (!(error instanceof ModelUnavailableError)) throw error;
      });
      if (!mayPin(version, pinOptions.alsoAllowed)) throw new UnknownVersionError(`'${version}' is not a version this caller may pin`);
      dropBroken();
      const model = await load(bucket, version);
      if (model !== current && model !== candidate) {
        touch(version);
        sweep();
      }
      return model;
    },
    candidate: () => (candidate && candidate !== current ? candidate : null),
    settled: () =>
      (inflight ?? Promise.resolve()).then(
        () => {},
        () => {},
      ),
    peek: () => current,
    lastError: () => currentError?.error.message ?? null,
    status: () => ({
      current,
      currentError: reported(currentError),
      candidate: candidate && candidate !== current ? candidate : null,
      candidateError: reported(candidateError),
      loaded: [...loaded.values()],
    }),
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
