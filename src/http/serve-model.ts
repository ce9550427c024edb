/**
 * The model a request is served with: the current one (through the registry, with the worker's
 * TTL and a background refresh), or the version the caller pins (`x-edgeguard-model` header or the
 * body's `model`); refused with 503 `model_unavailable` when there is none, 404 `model_not_found`
 * for a pinned version that is not deployed or not one the caller may pin (the same answer, so
 * probing learns nothing); named in the response (`x-edgeguard-model`, plus a
 * `load` server-timing entry when this request paid for loading it). Scoring with it under the
 * API's compute limit, with `featurize` and `inference` server-timing entries. And the shadow:
 * the candidate scores the same inputs after the response.
 */
import type { Context, Env as HonoEnv } from 'hono';
import { setMetric } from 'hono/timing';
import { z } from 'zod';
import { GuardError } from '../errors.ts';
import { TooMuchTextError, scoreInputs, type ClassifyInput, type ItemScores } from '../guard/classifier.ts';
import { VERSION_PATTERN } from '../guard/manifest.ts';
import { ModelUnavailableError, UnknownVersionError, type GetOptions, type LoadFailure, type LoadedModel, type ModelRegistry, type RegistryStatus } from '../guard/registry.ts';
import { ModelRuntimeError } from '../guard/runtime.ts';
import { shadowRecord, writeShadowRecord } from '../guard/shadow.ts';
import type { AppEnv } from './app-env.ts';
import { MAX_IDS_PER_REQUEST } from './limits.ts';

/** Header naming the model version on every response once a model is loaded; on a request, the version to pin. */
export const MODEL_HEADER = 'x-edgeguard-model';

/** What a caller may pin, as the 404 for any other version says (the same words whether it is deployed or not). */
const PINNABLE = 'a caller may pin the current version, the versions it replaced, the shadow candidate, and those its API key lists';

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** The worker's registry vars (wrangler.toml [vars]); blank means the default. */
const VarsSchema = z.object({
  /** Seconds the model pointers are trusted before an isolate reads them again. */
  MODEL_TTL_SECONDS: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(86_400).default(30)),
  /** Share of scored requests the shadow candidate also scores (0..1). */
  SHADOW_SAMPLE_RATE: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(1)),
});

/**
 * The registry vars of this worker.
 * @throws GuardError 500 when one is set to something that is not a number in range
 */
function varsOf(c: Context): z.infer<typeof VarsSchema> {
  const parsed = VarsSchema.safeParse(c.env ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new GuardError(500, 'internal_error', `worker misconfigured: ${issue.path.join('.')}: ${issue.message}`);
}

/** The request's `ctx.waitUntil`, or undefined outside a Workers request (e.g. `app.request` in tests). */
function waitUntilOf(c: Context): ((promise: Promise<unknown>) => void) | undefined {
  let ctx: Context['executionCtx'];
  try {
    ctx = c.executionCtx;
  } catch {
    return undefined;
  }
  return (promise) => ctx.waitUntil(promise);
}

/**
 * How a request asks the registry for the current model: the worker's MODEL_TTL_SECONDS, and its
 * `waitUntil` so a moved pointer is followed in the background.
 * @throws GuardError 500 when MODEL_TTL_SECONDS is not a number of seconds
 */
export function modelGetOptions<E extends HonoEnv>(c: Context<E>): GetOptions {
  return { refreshMs: varsOf(c).MODEL_TTL_SECONDS * 1000, waitUntil: waitUntilOf(c) };
}

/**
 * The version the caller pins, from the `x-edgeguard-model` header and/or the body's `model`.
 * @throws GuardError 400 when it is not a version name, or the two disagree
 */
function pinnedVersion(c: Context<AppEnv>, fromBody: string | undefined): string | null {
  const fromHeader = c.req.header(MODEL_HEADER)?.trim() || undefined;
  if (fromHeader && fromBody && fromHeader !== fromBody) {
    throw new GuardError(400, 'invalid_request', `the ${MODEL_HEADER} header (${fromHeader}) and the body's model (${fromBody}) name different versions`);
  }
  const version = fromHeader ?? fromBody;
  if (version === undefined) return null;
  if (!VERSION_PATTERN.test(version)) {
    throw new GuardError(400, 'invalid_request', `${fromHeader ? MODEL_HEADER : 'model'}: '${version.slice(0, 80)}' is not a model version (letters, digits, ".", "_" or "-", at most 64)`);
  }
  return version;
}

/**
 * The model for this request, named in its `x-edgeguard-model` header: the pinned version if the
 * caller names one (and may pin it: see `ModelRegistry.version`, plus its API key's
 * `pinVersions`), else the current one.
 * @param requested the body's `model`, if the route takes one
 * @param options.pinning false: the current model whatever the request pins (/healthz reports
 *   what serves). Default true.
 * @throws GuardError 503 model_unavailable, with the registry's reason; 404 model_not_found for
 *   a pinned version that is not deployed or not one the caller may pin; 400 for a malformed pin
 */
export async function serveModel(c: Context<AppEnv>, registry: ModelRegistry, requested?: string, options: { pinning?: boolean } = {}): Promise<LoadedModel> {
  const started = Date.now();
  const pinned = (options.pinning ?? true) ? pinnedVersion(c, requested) : null;
  let model: LoadedModel;
  try {
    if (!c.env?.MODELS) throw new ModelUnavailableError('no R2 bucket bound as MODELS');
    model = pinned
      ? await registry.version(c.env.MODELS, pinned, { ...modelGetOptions(c), alsoAllowed: c.var.apiKey?.settings.pinVersions })
      : await registry.get(c.env.MODELS, modelGetOptions(c));
  } catch (error) {
    if (pinned && error instanceof UnknownVersionError) {
      throw new GuardError(404, 'model_not_found', `model version '${pinned}' is not available: ${PINNABLE}`, { cause: error });
    }
    if (error instanceof ModelUnavailableError) throw new GuardError(503, 'model_unavailable', error.message, { cause: error });
    throw error;
  }
  if (model.loadedAt >= started) setMetric(c, 'load', model.loadMs, 'model load (incl. ORT start-up)');
  c.header(MODEL_HEADER, model.manifest.version);
  return model;
}

const failureBody = (failure: LoadFailure | null) => failure && { ...failure, at: new Date(failure.at).toISOString() };

/** Why the versions the pointers name are not serving (`null` when they are), as /healthz and /v1/models report it. */
export function loadErrors(status: RegistryStatus) {
  return { current: failureBody(status.currentError), candidate: failureBody(status.candidateError) };
}

/**
 * Scores a request's inputs with `model`, within MAX_IDS_PER_REQUEST, and leaves each text's
 * P(harmful) in `c.var.scores` for the request log.
 * @throws GuardError 413 too_much_text, before any inference; 503 model_unavailable when the
 *   model fails while scoring (after a fatal failure the registry loads it again next time)
 */
export async function scoreRequest(c: Context<AppEnv>, model: LoadedModel, inputs: ClassifyInput[]) {
  try {
    const { items, timing } = await scoreInputs(model, inputs, { maxIds: MAX_IDS_PER_REQUEST });
    setMetric(c, 'featurize', timing.featurizeMs);
    setMetric(c, 'inference', timing.inferenceMs, `${timing.windows} windows in ${timing.runs} runs`);
    const overall = model.manifest.labels[0]!;
    c.set('scores', items.map(({ scores }) => scores[overall] ?? 0));
    return items;
  } catch (error) {
    if (error instanceof TooMuchTextError) {
      throw new GuardError(413, 'too_much_text', `${error.message}; send fewer or shorter texts per request`, { cause: error });
    }
    if (error instanceof ModelRuntimeError) {
      throw new GuardError(503, 'model_unavailable', `model ${model.manifest.version} failed while scoring: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Scores the request again with the shadow candidate, after the response (`waitUntil`), and stores
 * both verdicts; only when the current model scored it (not a pinned one), a candidate is loaded,
 * and the request falls in SHADOW_SAMPLE_RATE. A failure is logged, never the caller's problem.
 */
export function shadowRequest(c: Context<AppEnv>, registry: ModelRegistry, model: LoadedModel, inputs: ClassifyInput[], items: ItemScores[]): void {
  const candidate = registry.candidate();
  const waitUntil = waitUntilOf(c);
  const bucket = c.env?.MODELS;
  if (!candidate || !waitUntil || !bucket || model !== registry.peek()) return;
  if (Math.random() >= varsOf(c).SHADOW_SAMPLE_RATE) return;
  waitUntil(
    shadowRecord(model, items, candidate, inputs, c.req.path)
      .then((record) => writeShadowRecord(bucket, record))
      .catch((error: unknown) => console.error(`edgeguard: shadow scoring with ${candidate.manifest.version} failed: ${(error as Error)?.message ?? error}`)),
  );
}
