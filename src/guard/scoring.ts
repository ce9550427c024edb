/**
 * The scoring core, one for every surface that scores (the API routes, `guard()`, the service
 * binding): the model a request is served with (current or pinned), its texts scored within the
 * request's feature-id budget, the caller's policy applied (thresholds, fail mode) and the
 * verdicts built, the uncertain ones judged by the teacher when the worker has one (the cascade),
 * and after the response the shadow candidate scoring the same texts and the teacher's verdicts
 * kept for training. Plain inputs in (registry, bucket, the worker's vars, the caller's
 * settings, `waitUntil`), data out: a verdict is data, and so is a request let through unscored
 * because its caller fails open; anything else that goes wrong is an error, which each surface
 * turns into its own answer (http/serve-model.ts for HTTP). No HTTP and no Hono Context here.
 */
import { z } from 'zod';
import { escalate, overallAfterTeacher, studentDecided, type FinalVerdict } from './cascade.ts';
import { cascadeConfig, type CascadeConfig, type CascadeVars } from './cascade-config.ts';
import { scoreInputs, verdictOf, type ClassifyInput, type ClassifyTiming, type ItemScores, type Verdict } from './classifier.ts';
import { WorkerConfigError } from './config-error.ts';
import { recordFeedback } from './feedback.ts';
import type { Manifest } from './manifest.ts';
import { applyPolicy, unscoredPolicy, type AppliedPolicy, type PolicySettings, type UnscoredPolicy } from './policy.ts';
import { ModelUnavailableError, UnknownVersionError, type GetOptions, type LoadedModel, type ModelRegistry } from './registry.ts';
import { ModelRuntimeError } from './runtime.ts';
import { shadowRecord, writeShadowRecord } from './shadow.ts';

/** What a caller may pin, as the error for any other version says (the same words whether it is deployed or not). */
const PINNABLE = 'a caller may pin the current version, the versions it replaced, the shadow candidate, and those its API key lists';

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const VarsSchema = z.object({
  /** Seconds the model pointers are trusted before an isolate reads them again. */
  MODEL_TTL_SECONDS: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(86_400).default(30)),
  /** Share of scored requests the shadow candidate also scores (0..1). */
  SHADOW_SAMPLE_RATE: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(1)),
  /**
   * Milliseconds the first scoring call of a burst waits for others to share its ORT runs (0..50);
   * 0: until the next macrotask, when the requests the isolate already had have had their turn.
   */
  COALESCE_WAIT_MS: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(50).default(0)),
});

/**
 * The worker's scoring vars (wrangler.toml [vars]) as the env holds them: strings, blank or
 * missing meaning the default; with the cascade's (TEACHER_*, ESCALATE_BAND, FEEDBACK_*, the `AI`
 * binding: see cascade-config.ts).
 */
export type ScoringVars = Partial<Record<keyof z.input<typeof VarsSchema>, unknown>> & CascadeVars;

export { WorkerConfigError };

/**
 * The pinned version is not one this caller may have: not deployed, or not one the operator made
 * reachable nor its key lists (one error for both, so probing learns nothing). Not a
 * ModelUnavailableError, so failing open never hides it.
 */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
  readonly version: string;

  constructor(version: string, options?: { cause?: unknown }) {
    super(`model version '${version}' is not available: ${PINNABLE}`, options);
    this.version = version;
  }
}

/** Where a request's model comes from. */
export interface ModelSource {
  registry: ModelRegistry;
  /** The R2 bucket holding the models (the `MODELS` binding); undefined when none is bound. */
  bucket: R2Bucket | undefined;
  /**
   * The worker's env: MODEL_TTL_SECONDS, SHADOW_SAMPLE_RATE and COALESCE_WAIT_MS (default 30, 1
   * and 0), and the cascade's teacher, band, timeout, budget and feedback settings (none: no
   * cascade).
   */
  vars: ScoringVars | undefined;
  /**
   * The request's `ctx.waitUntil`: with it, a moved pointer is followed and the shadow scored
   * after the response; without it (outside a Workers request), a due refresh is awaited and
   * nothing is shadowed.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Which model serves: the current one, or a pinned version. */
export interface ModelChoice {
  /** A version to pin, already checked to be a version name; default (or null): the current model. */
  pin?: string | null;
  /** Versions this caller may pin besides those the pointers make reachable (its API key's `pinVersions`). */
  pinVersions?: readonly string[];
}

/** One request to score. */
export interface ScoreRequest extends ModelChoice {
  inputs: ClassifyInput[];
  /** The caller's thresholds and fail mode (an API key's settings, `guard()`'s options); unset ones are the model's, failing closed. */
  policy?: PolicySettings | null;
  /** Most feature ids all inputs together may need; more is a TooMuchTextError before any inference. */
  maxIds: number;
  /** The surface, as the shadow record names it (a route's path). */
  route: string;
}

/** The inputs scored by `model` and decided under `policy`. */
export interface Scored {
  scored: true;
  model: LoadedModel;
  /** The raw scores of each input, in order. */
  items: ItemScores[];
  /** The verdict on each input, in order, and who gave it (the student, or the teacher it escalated to). */
  verdicts: FinalVerdict[];
  /**
   * All inputs decided as one, as `guard()` blocks: each label's highest score over them.
   * `decisive` is the input with the highest P(harmful) (once the teacher decided some inputs:
   * the highest among those whose verdict is the overall one).
   */
  overall: { verdict: FinalVerdict; decisive: number };
  policy: AppliedPolicy;
  timing: ClassifyTiming;
  /** The cascade's step when the worker has a teacher: texts asked (or refused by the budget) and its wall time; null without one. */
  cascade: { escalated: number; ms: number } | null;
}

/** No model could score and the caller fails open: the reason instead of scores. */
export interface Unscored {
  scored: false;
  unavailable: { code: 'model_unavailable'; message: string };
  policy: UnscoredPolicy;
}

/** What scoring a request gives: scores and verdicts, or (failing open) none and why. */
export type Scoring = Scored | Unscored;

/**
 * The scoring vars of this worker.
 * @throws WorkerConfigError when one is set to something that is not a number in range
 */
function varsOf(vars: ScoringVars | undefined): z.infer<typeof VarsSchema> {
  const parsed = VarsSchema.safeParse(vars ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new WorkerConfigError(`worker misconfigured: ${issue.path.join('.')}: ${issue.message}`);
}

async function serve(source: ModelSource, vars: z.infer<typeof VarsSchema>, choice: ModelChoice): Promise<LoadedModel> {
  const { registry, bucket } = source;
  const options: GetOptions = { refreshMs: vars.MODEL_TTL_SECONDS * 1000, waitUntil: source.waitUntil };
  try {
    if (!bucket) throw new ModelUnavailableError('no R2 bucket bound as MODELS');
    return choice.pin
      ? await registry.version(bucket, choice.pin, { ...options, alsoAllowed: choice.pinVersions })
      : await registry.get(bucket, options);
  } catch (error) {
    if (choice.pin && error instanceof UnknownVersionError) throw new ModelNotFoundError(choice.pin, { cause: error });
    throw error;
  }
}

/**
 * The model a request is served with: the pinned version if the caller names one it may pin (see
 * `ModelRegistry.version`, plus `choice.pinVersions`), else the current one, through the
 * registry with the worker's TTL and a background refresh.
 * @throws ModelUnavailableError when there is none (no bucket, no pointer, R2 unreachable, the
 *   version failed its checks), with the reason
 * @throws ModelNotFoundError for a pinned version that is not deployed or not one the caller may pin
 * @throws WorkerConfigError when MODEL_TTL_SECONDS, SHADOW_SAMPLE_RATE or COALESCE_WAIT_MS is out of range
 * @example const model = await serveModel({ registry, bucket: env.MODELS, vars: env }, { pin: 'v1' });
 */
export async function serveModel(source: ModelSource, choice: ModelChoice = {}): Promise<LoadedModel> {
  return serve(source, varsOf(source.vars), choice);
}

/** Scores with a model that may fail at run: such a failure is the model being unavailable. */
async function scoreWith(model: LoadedModel, inputs: ClassifyInput[], maxIds: number, coalesceWaitMs: number) {
  try {
    return await scoreInputs(model, inputs, { maxIds, coalesceWaitMs });
  } catch (error) {
    if (!(error instanceof ModelRuntimeError)) throw error;
    throw new ModelUnavailableError(`model ${model.manifest.version} failed while scoring: ${error.message}`, { cause: error });
  }
}

/** All inputs as one: each label's highest score over them, and the input with the highest first label. */
function overallVerdict(manifest: Manifest, items: ItemScores[], policy: AppliedPolicy): { verdict: Verdict; decisive: number } {
  const scores: Record<string, number> = {};
  for (const label of manifest.labels) scores[label] = items.reduce((best, item) => Math.max(best, item.scores[label] ?? 0), 0);
  const overall = manifest.labels[0]!;
  const decisive = items.reduce((best, item, i) => ((item.scores[overall] ?? 0) > (items[best]!.scores[overall] ?? 0) ? i : best), 0);
  return { verdict: verdictOf(manifest, scores, policy.threshold, policy.categoryThresholds), decisive };
}

/**
 * The student's verdicts put to the teacher where the cascade says (see cascade.ts), the
 * teacher's verdicts kept for training (see feedback.ts), and all inputs decided as one again
 * when the teacher changed any verdict.
 */
async function cascade(
  config: CascadeConfig | null,
  source: ModelSource,
  model: LoadedModel,
  request: ScoreRequest,
  items: ItemScores[],
  verdicts: Verdict[],
  policy: AppliedPolicy,
) {
  const student = overallVerdict(model.manifest, items, policy);
  if (!config) {
    return {
      verdicts: verdicts.map(studentDecided),
      overall: { verdict: studentDecided(student.verdict), decisive: student.decisive },
      cascade: null,
    };
  }
  const result = await escalate(config, request.inputs, verdicts, request.policy?.escalate ?? 'band');
  recordFeedback(config, source.bucket, source.waitUntil, {
    model,
    inputs: request.inputs,
    student: verdicts.map(({ score, flagged }) => ({ score, flagged })),
    threshold: policy.threshold,
    escalations: result.escalations,
    route: request.route,
  });
  const overall = result.verdicts.some((v) => v.decidedBy === 'teacher')
    ? overallAfterTeacher(result.verdicts, policy.threshold)
    : { verdict: studentDecided(student.verdict), decisive: student.decisive };
  return { verdicts: result.verdicts, overall, cascade: { escalated: result.escalations.length, ms: result.ms } };
}

/**
 * Scores the request again with the shadow candidate, after the response, and stores both
 * verdicts; only when the current model scored it (not a pinned one), a candidate is loaded, the
 * request can wait (`waitUntil`), and it falls in SHADOW_SAMPLE_RATE. A failure is logged, never
 * the caller's problem.
 */
function shadow(source: ModelSource, sampleRate: number, model: LoadedModel, request: ScoreRequest, items: ItemScores[]): void {
  const { registry, bucket, waitUntil } = source;
  if (!waitUntil || !bucket || model !== registry.peek()) return;
  if (Math.random() >= sampleRate) return;
  // The request whose TTL ran out is answered by the loaded model while the pointers are read in
  // the background: the candidate is looked up after that read, so the request that finds a newly
  // named candidate is shadowed too (before, shadow-report counted one request short).
  waitUntil(
    registry.settled().then(() => {
      const candidate = registry.candidate();
      if (!candidate) return;
      return shadowRecord(model, items, candidate, request.inputs, request.route)
        .then((record) => writeShadowRecord(bucket, record))
        .catch((error: unknown) =>
          console.error(`edgeguard: shadow scoring with ${candidate.manifest.version} failed: ${(error as Error)?.message ?? error}`),
        );
    }),
  );
}

/**
 * Scores a request's inputs with the model that serves it (see serveModel) and decides them under
 * the caller's policy: a label's threshold is the caller's, else the model's (see applyPolicy),
 * and an input is flagged when P(harmful) or any category the model reports reaches its
 * threshold (see verdictOf). When no model can score (ModelUnavailableError: none loaded, R2
 * unreachable, the model failing at load or at run), the caller's fail mode decides: `closed`
 * (the default) throws, `open` returns Unscored with the reason. Then, the shadow (see above),
 * and the cascade: with a teacher configured, an input whose P(harmful) falls in ESCALATE_BAND
 * (or any, for a caller with `escalate: always`; none for `never`) is decided by the teacher
 * within TEACHER_TIMEOUT_MS, the student's verdict standing when it fails (see cascade.ts).
 * @throws ModelUnavailableError failing closed; ModelNotFoundError and WorkerConfigError as
 *   serveModel, whatever the fail mode (WorkerConfigError also for a cascade var that is set but
 *   unusable); TooMuchTextError, before any inference, when the inputs need more than
 *   `request.maxIds` feature ids
 * @example
 * const scoring = await scoreUnderPolicy(
 *   { registry, bucket: env.MODELS, vars: env, waitUntil: (p) => ctx.waitUntil(p) },
 *   { inputs: [{ prompt: 'hi', response: null }], policy: { failMode: 'open' }, maxIds: 1 << 23, route: 'rpc:classify' },
 * );
 * if (scoring.scored) scoring.verdicts[0].flagged;
 */
export async function scoreUnderPolicy(source: ModelSource, request: ScoreRequest): Promise<Scoring> {
  const vars = varsOf(source.vars);
  // a misconfigured cascade is the operator's to fix before anything is scored
  const teacher = cascadeConfig(source.vars);
  let model: LoadedModel;
  let scored: Awaited<ReturnType<typeof scoreWith>>;
  try {
    model = await serve(source, vars, request);
    scored = await scoreWith(model, request.inputs, request.maxIds, vars.COALESCE_WAIT_MS);
  } catch (error) {
    if (!(error instanceof ModelUnavailableError) || (request.policy?.failMode ?? 'closed') === 'closed') throw error;
    return { scored: false, unavailable: { code: 'model_unavailable', message: error.message }, policy: unscoredPolicy(request.policy) };
  }
  const { items, timing } = scored;
  shadow(source, vars.SHADOW_SAMPLE_RATE, model, request, items);
  const { manifest } = model;
  const policy = applyPolicy(manifest, request.policy);
  const verdicts = items.map(({ scores }) => verdictOf(manifest, scores, policy.threshold, policy.categoryThresholds));
  return { scored: true, model, items, ...(await cascade(teacher, source, model, request, items, verdicts, policy)), policy, timing };
}
