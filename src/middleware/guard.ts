/**
 * `guard(options)`: EdgeGuard as middleware for any Hono app on Workers. It takes the texts to
 * check from the request (by default every text of an OpenAI chat completion body), has its
 * `scorer` score them (`inProcess()` in this worker, `serviceBinding()` to a deployed EdgeGuard
 * worker, `httpApi()` over its HTTP API: the same verdicts, policy and fail mode), blocks when
 * P(harmful) or a category the model reports reaches its threshold on any of them, passes the
 * rest, and leaves the verdict in `c.var.guard`. With `moderateResponses` it checks the answer too,
 * as it streams (moderate-answer.ts, stream-moderation.ts).
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import type { ClientErrorStatusCode } from 'hono/utils/http-status';
import { GuardError, errorBody } from '../errors.ts';
import type { FinalVerdict } from '../guard/cascade.ts';
import type { ClassifyInput, Verdict } from '../guard/classifier.ts';
import type { PolicySettings } from '../guard/policy.ts';
import { ChatRequestSchema, type ChatRequest } from '../http/chat-request.ts';
import { chatTexts } from '../http/chat-texts.ts';
import { MODEL_HEADER, UNSCORED_HEADER } from '../http/headers.ts';
import { MAX_CHAT_CHARS, MAX_IDS_PER_REQUEST } from '../http/limits.ts';
import { readJson, validate } from '../http/read-json.ts';
import { checkModeration, moderateAnswer, moderationOf, type Moderation, type ResponseModeration } from './moderate-answer.ts';
import type { GuardScoreRequest, GuardScorer } from './scorers/scorer.ts';

/**
 * What to check: a prompt, or a prompt and the response to judge in its context; `path` names
 * where in the request it came from (`messages[2].content`), for the verdict.
 */
export type GuardInput = string | { prompt: string; response?: string | null; path?: string };

/**
 * A scored request: `blocked` never reached the handler. The scores are the highest over all
 * inputs, per label; `path` is the input whose P(harmful) decided (`null` when the extractor did
 * not name it); `decidedBy` and `teacher` say whether the worker's teacher decided it (the cascade).
 */
export type ScoredVerdict = FinalVerdict & { outcome: 'allowed' | 'blocked'; modelVersion: string; path: string | null };

/**
 * The guard's verdict, in `c.var.guard`. Data, not exceptions: `skipped` means the extractor
 * found nothing to check; `unavailable` means no model could score it and `failMode: 'open'` let
 * the request through.
 */
export type GuardVerdict = ScoredVerdict | { outcome: 'skipped'; reason: string } | { outcome: 'unavailable'; reason: string };

declare module 'hono' {
  interface ContextVariableMap {
    guard: GuardVerdict;
    /**
     * The chat completion body as the default extractor validated it: what the guard checked, so
     * what a handler should forward (re-serialised, never the raw bytes). Unset with a custom extractor.
     */
    chatRequest: ChatRequest;
  }
}

export interface GuardOptions<E extends HonoEnv = HonoEnv> {
  /**
   * What happens when no model can score the request: `'closed'` answers 503
   * `model_unavailable`, `'open'` lets it through with `c.var.guard.outcome === 'unavailable'`
   * and the response header `x-edgeguard-unscored: model_unavailable`, as the API routes do.
   * Required, so every guarded route states its choice.
   */
  failMode: 'open' | 'closed';
  /**
   * What scores: `inProcess()` (from `edgeguard/hono/in-process`: the model in this worker, from
   * its `MODELS` R2 bucket), `serviceBinding('EDGEGUARD')` (a deployed EdgeGuard worker, no
   * network hop) or `httpApi({ url, apiKey })` (EdgeGuard's HTTP API). Required.
   */
  scorer: GuardScorer<E>;
  /**
   * Takes the texts to check from the request: one input or several (the highest score decides);
   * `null` or `[]` = nothing to check (passes as `skipped`). May throw a GuardError (or any
   * HTTPException) to refuse the request.
   * Default: `chatCompletionInputs`, every text of an OpenAI chat completion body, each alone and
   * all together.
   */
  extract?: (c: Context<E>) => GuardInput | GuardInput[] | null | Promise<GuardInput | GuardInput[] | null>;
  /**
   * Most feature ids one request may score in-process, over all its inputs; more answers 413
   * `too_much_text` before any inference. Default MAX_IDS_PER_REQUEST (2^23), as the API's routes
   * (a remote EdgeGuard applies its own, the same).
   */
  maxIds?: number;
  /** Block when P(harmful) >= this. Default: the model manifest's `threshold` (over HTTP: the API key's). */
  threshold?: number;
  /**
   * Per-request overrides of `threshold`, `categoryThresholds` and `failMode`, e.g. the caller's
   * API key settings (`(c) => c.var.apiKey?.settings`, as the EdgeGuard worker does); a field left
   * undefined keeps the option's value. A request is blocked when P(harmful) reaches the
   * threshold or any category the model reports reaches its own (the override's, else the
   * model's, else the threshold). Default: none.
   */
  policy?: (c: Context<E>) => PolicySettings | null | undefined;
  /** Status of a blocked request's response. Default 400 (as OpenAI-compatible content filters). */
  blockStatus?: ClientErrorStatusCode;
  /** JSON body of a blocked request's response. Default `{ error: { code: 'content_blocked', message } }`. */
  blockBody?: (verdict: ScoredVerdict) => unknown;
  /**
   * Check the answer as it streams, when the handler answers an OpenAI-compatible chat stream
   * (`text/event-stream`): `true`, `{ every, prompt }`, or a function of the request (falsy: not
   * this one). Flagged, the stream ends with a `content_filter` chunk; answers that do not stream
   * pass as they are. Default: off.
   */
  moderateResponses?: boolean | ResponseModeration<E> | ((c: Context<E>) => boolean | ResponseModeration<E> | null | undefined);
}

/** The `path` of the input that is the whole conversation: all texts joined, in order. */
export const CONVERSATION_PATH = 'conversation';

/**
 * The default extractor: every text of an OpenAI chat completion body that the upstream model
 * will read (see chat-texts.ts: every message of every role, text and refusal parts, names,
 * tool calls, tool definitions, response schemas), each as its own input named by its path, and,
 * when there are several, all of them joined in order as one more input (`conversation`), so a
 * request split over turns or hidden in a system or tool message is still seen. The validated
 * body is left in `c.var.chatRequest` for the handler to forward.
 * Checked before any scoring: the body (JSON, UTF-8, at most 1 MiB by `content-length`; for
 * chunked bodies put `bodyLimit()` in front, as the EdgeGuard worker does), the shape (roles and
 * parts exactly as OpenAI's API; images, audio and files refused), every text at most 32,000
 * characters and well-formed, and all texts together at most MAX_CHAT_CHARS.
 * @throws GuardError 415 / 413 / 400 (`invalid_request` naming the field, `unsupported_content`,
 *   `text_too_long`, `lone_surrogate`), 413 `too_much_text` over MAX_CHAT_CHARS
 * @example guard({ failMode: 'closed', extract: chatCompletionInputs }) // the default
 */
export async function chatCompletionInputs<E extends HonoEnv>(c: Context<E>): Promise<GuardInput[]> {
  const request = validate(ChatRequestSchema, await readJson(c));
  const texts = chatTexts(request);
  const chars = texts.reduce((sum, { text }) => sum + text.length, 0);
  if (chars > MAX_CHAT_CHARS) {
    throw new GuardError(
      413,
      'too_much_text',
      `the request holds ${chars} characters of text, more than the ${MAX_CHAT_CHARS} a chat request may; send a shorter conversation`,
    );
  }
  c.set('chatRequest', request);
  const inputs: GuardInput[] = texts.map(({ path, text }) => ({ prompt: text, path }));
  if (texts.length > 1) inputs.push({ prompt: texts.map(({ text }) => text).join('\n'), path: CONVERSATION_PATH });
  return inputs;
}

function checkOptions(options: GuardOptions<any>): void {
  if (options.failMode !== 'open' && options.failMode !== 'closed') {
    throw new TypeError(`guard(): failMode must be 'open' or 'closed', got ${String(options.failMode)}`);
  }
  if (typeof options.scorer?.score !== 'function') {
    throw new TypeError(`guard(): scorer is required: inProcess(), serviceBinding('EDGEGUARD') or httpApi({ url, apiKey })`);
  }
  if (options.threshold !== undefined && !(options.threshold >= 0 && options.threshold <= 1)) {
    throw new TypeError(`guard(): threshold must be within [0, 1], got ${options.threshold}`);
  }
  if (options.maxIds !== undefined && !(Number.isInteger(options.maxIds) && options.maxIds > 0)) {
    throw new TypeError(`guard(): maxIds must be a positive integer, got ${options.maxIds}`);
  }
  if (options.blockStatus !== undefined && !(options.blockStatus >= 400 && options.blockStatus <= 499)) {
    throw new TypeError(`guard(): blockStatus must be a 4xx status, got ${options.blockStatus}`);
  }
  if (typeof options.moderateResponses === 'object') checkModeration(options.moderateResponses);
}

const defaultBlockBody = (verdict: ScoredVerdict) => {
  const where = `model ${verdict.modelVersion}${verdict.path === null ? '' : `, at ${verdict.path}`}`;
  const teacher = verdict.decidedBy === 'teacher' && verdict.teacher && 'unsafe' in verdict.teacher ? verdict.teacher : null;
  const why = teacher
    ? `the teacher judged it unsafe${teacher.codes.length ? ` (${teacher.codes.join(',')})` : ''}; student P(harmful) ${verdict.score.toFixed(3)}`
    : `P(harmful) ${verdict.score.toFixed(3)} >= threshold ${verdict.threshold}`;
  return errorBody('content_blocked', `blocked by EdgeGuard: ${why} (${where})`);
};

const toInput = (input: GuardInput): ClassifyInput =>
  typeof input === 'string' ? { prompt: input, response: null } : { prompt: input.prompt, response: input.response ?? null };

/**
 * Guards a route with the student model.
 * @param options `failMode` and `scorer` are required; see GuardOptions for the defaults of the rest
 * @throws TypeError at set-up, for options out of range or a missing scorer
 * @example
 * import { Hono } from 'hono';
 * import { guard, serviceBinding } from 'edgeguard/hono';
 *
 * const app = new Hono<{ Bindings: Env }>();
 * app.post('/v1/chat/completions', guard({ failMode: 'closed', scorer: serviceBinding('EDGEGUARD') }), async (c) => {
 *   // only prompts below the threshold get here; c.var.guard holds the verdict
 *   return c.json({ ok: true, score: c.var.guard.outcome === 'allowed' ? c.var.guard.score : null });
 * });
 * @example
 * // a custom extractor and threshold, failing open, over EdgeGuard's HTTP API
 * guard({ failMode: 'open', threshold: 0.8, scorer: httpApi({ url, apiKey }), extract: async (c) => (await c.req.json()).comment })
 * @example
 * // several inputs: the highest score decides, and the verdict names its path
 * guard({ failMode: 'closed', scorer: inProcess(), extract: async (c) => {
 *   const { title, body } = await c.req.json();
 *   return [{ prompt: title, path: 'title' }, { prompt: body, path: 'body' }];
 * } })
 * @example
 * // the answer too, as it streams: a flagged one ends with finish_reason 'content_filter'
 * guard({ failMode: 'closed', scorer: serviceBinding('EDGEGUARD'), moderateResponses: { every: 200 } })
 */
export function guard<E extends HonoEnv = HonoEnv>(options: GuardOptions<E>): MiddlewareHandler<E> {
  checkOptions(options);
  const { scorer } = options;
  const extract = options.extract ?? chatCompletionInputs<E>;
  const maxIds = options.maxIds ?? MAX_IDS_PER_REQUEST;
  const blockStatus = options.blockStatus ?? 400;
  const blockBody = options.blockBody ?? defaultBlockBody;
  /** After the handler: its answer checked as it streams, when this request asks for it. */
  const answerChecked = (
    c: Context<E>,
    moderation: Moderation<E> | null,
    policy: GuardScoreRequest['policy'],
    inputs: ClassifyInput[],
    decisive: number | null,
  ) => {
    if (moderation) moderateAnswer(c, moderation, { scorer, policy, maxIds, inputs, decisive, chatRequest: c.get('chatRequest') ?? null });
  };

  return async function guardMiddleware(c, next) {
    // asked for before the handler runs: a misconfiguration answers before anything is forwarded
    const moderation = moderationOf(options.moderateResponses, c);
    const extracted = await extract(c);
    const inputs = (extracted === null ? [] : Array.isArray(extracted) ? extracted : [extracted]).map((input) => ({
      input,
      scored: toInput(input),
    }));
    const override = options.policy?.(c);
    // the request's settings over the options': the same policy and fail mode as the API routes
    const policy: GuardScoreRequest['policy'] = {
      ...override,
      threshold: override?.threshold ?? options.threshold,
      failMode: override?.failMode ?? options.failMode,
    };
    const scored = inputs.map(({ scored }) => scored);
    if (inputs.length === 0) {
      c.set('guard', { outcome: 'skipped', reason: 'the extractor found no text to check' });
      await next();
      answerChecked(c, moderation, policy, scored, null);
      return;
    }
    const score = await scorer.score(c, { inputs: scored, policy, maxIds, route: c.req.path, stage: 'request' });
    if (!score.scored) {
      c.set('guard', { outcome: 'unavailable', reason: score.reason });
      c.header(UNSCORED_HEADER, 'model_unavailable');
      await next();
      // again on the answer: a Response the handler built itself (the chat route forwards the
      // upstream's) does not carry the headers set before it
      c.header(UNSCORED_HEADER, 'model_unavailable');
      answerChecked(c, moderation, policy, scored, null);
      return;
    }
    const { verdict, decisive, modelVersion } = score;
    const { input } = inputs[decisive]!;
    const path = typeof input === 'string' ? null : (input.path ?? null);
    if (verdict.flagged) {
      const blocked: ScoredVerdict = { ...verdict, outcome: 'blocked', modelVersion, path };
      c.set('guard', blocked);
      c.header(MODEL_HEADER, modelVersion);
      return c.json(blockBody(blocked) as object, blockStatus);
    }
    c.set('guard', { ...verdict, outcome: 'allowed', modelVersion, path });
    c.header(MODEL_HEADER, modelVersion);
    await next();
    c.header(MODEL_HEADER, modelVersion);
    answerChecked(c, moderation, policy, scored, decisive);
  };
}
