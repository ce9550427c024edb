/**
 * The HTTP side of scoring, for the API routes and `guard()` alike; the scoring itself (model,
 * pinning, policy, fail mode, shadow) is guard/scoring.ts. Here: what a request brings (its
 * bucket, the worker's vars, `waitUntil`, the version it pins by the `x-edgeguard-model` header
 * or the body's `model`), what the answer says of it (the serving model in `x-edgeguard-model`,
 * an unscored answer in `x-edgeguard-unscored`, `load`, `featurize`, `inference` and `teacher`
 * server-timing entries, each text's P(harmful) in `c.var.scores` for the request log), and the
 * core's errors as the API's: 503 `model_unavailable`, 404 `model_not_found`, 413
 * `too_much_text`, 500 for a misconfigured worker.
 */
import type { Context } from 'hono';
import { setMetric } from 'hono/timing';
import { GuardError } from '../errors.ts';
import { TooMuchTextError, type ClassifyInput } from '../guard/classifier.ts';
import { VERSION_PATTERN } from '../guard/manifest.ts';
import { ModelUnavailableError, type LoadFailure, type LoadedModel, type ModelRegistry, type RegistryStatus } from '../guard/registry.ts';
import {
  ModelNotFoundError,
  WorkerConfigError,
  scoreUnderPolicy,
  serveModel as serveCoreModel,
  type ModelSource,
  type ScoreRequest,
  type Scoring,
} from '../guard/scoring.ts';
import type { KeySettings } from '../auth/key-record.ts';
import { MODEL_HEADER, UNSCORED_HEADER } from './headers.ts';
import { MAX_IDS_PER_REQUEST } from './limits.ts';

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
 * Where this request's model comes from: `registry`, `bucket` (the API's is the `MODELS`
 * binding), the env's scoring vars, and the request's `waitUntil`.
 */
export function modelSource(c: Context, registry: ModelRegistry, bucket: R2Bucket | undefined): ModelSource {
  return { registry, bucket, vars: c.env, waitUntil: waitUntilOf(c) };
}

/**
 * The version the caller pins, from the `x-edgeguard-model` header and/or the body's `model`.
 * @throws GuardError 400 when it is not a version name, or the two disagree
 */
function pinnedVersion(c: Context, fromBody: string | undefined): string | null {
  const fromHeader = c.req.header(MODEL_HEADER)?.trim() || undefined;
  if (fromHeader && fromBody && fromHeader !== fromBody) {
    throw new GuardError(
      400,
      'invalid_request',
      `the ${MODEL_HEADER} header (${fromHeader}) and the body's model (${fromBody}) name different versions`,
    );
  }
  return checkedPin(fromHeader ?? fromBody, fromHeader ? MODEL_HEADER : 'model');
}

/**
 * A version a caller pins, checked to be a version name; `null` when it pins none.
 * @param where what named it, for the message (`model`, the header)
 * @throws GuardError 400 invalid_request when it is not a version name
 */
export function checkedPin(version: string | undefined, where = 'model'): string | null {
  if (version === undefined) return null;
  if (!VERSION_PATTERN.test(version)) {
    throw new GuardError(
      400,
      'invalid_request',
      `${where}: '${version.slice(0, 80)}' is not a model version (letters, digits, ".", "_" or "-", at most 64)`,
    );
  }
  return version;
}

/**
 * The scoring core's errors as the API answers them (503 model_unavailable, 404 model_not_found,
 * 413 too_much_text, 500 for a misconfigured worker); any other error as it is. The service
 * binding answers the same GuardErrors as values.
 */
export function asHttpError(error: unknown): unknown {
  const cause = { cause: error };
  if (error instanceof ModelUnavailableError) return new GuardError(503, 'model_unavailable', error.message, cause);
  if (error instanceof ModelNotFoundError) return new GuardError(404, 'model_not_found', error.message, cause);
  if (error instanceof TooMuchTextError)
    return new GuardError(413, 'too_much_text', `${error.message}; send fewer or shorter texts per request`, cause);
  if (error instanceof WorkerConfigError) return new GuardError(500, 'internal_error', error.message, cause);
  return error;
}

/** A server-timing entry, when the app times its requests (`timing()`: the worker does; another app using guard() may not). */
function metric(c: Context, name: string, ms: number, description?: string): void {
  if (c.get('metric')) setMetric(c, name, ms, description);
}

/** Names the model in the response, with a `load` entry when this request (started at `started`) paid for loading it. */
function nameModel(c: Context, model: LoadedModel, started: number): void {
  if (model.loadedAt >= started) metric(c, 'load', model.loadMs, 'model load (incl. ORT start-up)');
  c.header(MODEL_HEADER, model.manifest.version);
}

/**
 * The model for this request, named in its `x-edgeguard-model` header: the pinned version if the
 * caller names one (and may pin it: see guard/scoring.ts serveModel, plus its API key's
 * `pinVersions`), else the current one.
 * @param requested the body's `model`, if the route takes one
 * @param options.pinning false: the current model whatever the request pins (/healthz reports
 *   what serves). Default true.
 * @param options.settings the caller's API key settings (the versions it may pin besides the pointers')
 * @throws GuardError 503 model_unavailable, with the registry's reason; 404 model_not_found for
 *   a pinned version that is not deployed or not one the caller may pin; 400 for a malformed pin
 */
export async function serveModel(
  c: Context,
  registry: ModelRegistry,
  requested?: string,
  options: { pinning?: boolean; settings?: KeySettings | null } = {},
): Promise<LoadedModel> {
  const started = Date.now();
  const pin = (options.pinning ?? true) ? pinnedVersion(c, requested) : null;
  try {
    const model = await serveCoreModel(modelSource(c, registry, c.env?.MODELS), { pin, pinVersions: options.settings?.pinVersions });
    nameModel(c, model, started);
    return model;
  } catch (error) {
    throw asHttpError(error);
  }
}

/**
 * Scores a request through the scoring core (guard/scoring.ts) and says so in the answer: the
 * model in `x-edgeguard-model`, `featurize` and `inference` server-timing (and `teacher` when
 * the cascade escalated any text), each text's P(harmful) in `c.var.scores`; an unscored
 * (failed-open) answer gets `x-edgeguard-unscored: model_unavailable`.
 * @throws GuardError 503 model_unavailable failing closed; 404 model_not_found, 413 too_much_text
 *   and 500 internal_error (a misconfigured worker) whatever the fail mode
 * @example const scoring = await scoreRequest(c, modelSource(c, registry, c.env.MODELS), { inputs, maxIds: 1 << 23, route: c.req.path });
 */
export async function scoreRequest(c: Context, source: ModelSource, request: ScoreRequest): Promise<Scoring> {
  const started = Date.now();
  let scoring: Scoring;
  try {
    scoring = await scoreUnderPolicy(source, request);
  } catch (error) {
    throw asHttpError(error);
  }
  if (!scoring.scored) {
    c.header(UNSCORED_HEADER, scoring.unavailable.code);
    return scoring;
  }
  const { model, items, timing } = scoring;
  nameModel(c, model, started);
  metric(c, 'featurize', timing.featurizeMs);
  const shared = timing.shared > 1 ? ` shared with ${timing.shared - 1} other requests` : '';
  metric(c, 'inference', timing.inferenceMs, `${timing.windows} windows in ${timing.runs} runs${shared}`);
  if (scoring.cascade?.escalated) metric(c, 'teacher', scoring.cascade.ms, `${scoring.cascade.escalated} escalated`);
  const overall = model.manifest.labels[0]!;
  c.set(
    'scores',
    items.map(({ scores }) => scores[overall] ?? 0),
  );
  return scoring;
}

/**
 * Scores one check of a streamed answer (`guard()`'s response moderation) through the scoring
 * core, after the answer's headers went out: nothing is written to the answer, and no shadow
 * record is made (one per check would be one R2 write each).
 * @throws GuardError as scoreRequest
 * @example const scoring = await scoreResponseCheck(modelSource(c, registry, c.env.MODELS), { inputs: [{ prompt, response }], maxIds, route });
 */
export async function scoreResponseCheck(source: ModelSource, request: ScoreRequest): Promise<Scoring> {
  try {
    return await scoreUnderPolicy({ ...source, vars: { ...source.vars, SHADOW_SAMPLE_RATE: '0' } }, request);
  } catch (error) {
    throw asHttpError(error);
  }
}

/**
 * Scores an API route's inputs: the caller's API key sets the policy and may pin a version (the
 * body's `model` or the `x-edgeguard-model` header), within MAX_IDS_PER_REQUEST.
 * @param settings the caller's API key settings (`c.var.apiKey?.settings`); none while the API runs open
 * @param requested the body's `model`, if any
 * @throws GuardError as scoreRequest; 400 for a malformed pin
 * @example
 * const scoring = await scoreApiRequest(c, registry, c.var.apiKey?.settings, [{ prompt: 'hi', response: null }]);
 * if (scoring.scored) scoring.verdicts[0].flagged;
 */
export function scoreApiRequest(
  c: Context,
  registry: ModelRegistry,
  settings: KeySettings | null | undefined,
  inputs: ClassifyInput[],
  requested?: string,
): Promise<Scoring> {
  const pin = pinnedVersion(c, requested);
  return scoreRequest(c, modelSource(c, registry, c.env?.MODELS), {
    inputs,
    pin,
    pinVersions: settings?.pinVersions,
    policy: settings,
    maxIds: MAX_IDS_PER_REQUEST,
    route: c.req.path,
  });
}

const failureBody = (failure: LoadFailure | null) => failure && { ...failure, at: new Date(failure.at).toISOString() };

/** Why the versions the pointers name are not serving (`null` when they are), as /healthz and /v1/models report it. */
export function loadErrors(status: RegistryStatus) {
  return { current: failureBody(status.currentError), candidate: failureBody(status.candidateError) };
}
