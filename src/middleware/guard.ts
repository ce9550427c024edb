/**
 * `guard(options)`: EdgeGuard as middleware for any Hono app on Workers. It takes the text to
 * check from the request, scores it in-process with the student model, blocks at or above the
 * threshold, passes below it, and leaves the verdict in `c.var.guard`.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import type { ClientErrorStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { GuardError, errorBody } from '../errors.ts';
import { readJson, validate } from '../http/read-json.ts';
import { modelGetOptions } from '../http/serve-model.ts';
import { scoreInputs, verdictOf, type ClassifyInput, type Verdict } from '../guard/classifier.ts';
import { ModelUnavailableError, sharedRegistry, type LoadedModel, type ModelRegistry } from '../guard/registry.ts';
import { ModelRuntimeError } from '../guard/runtime.ts';

/** What to check: a prompt, or a prompt and the response to judge in its context. */
export type GuardInput = string | { prompt: string; response?: string | null };

/** A scored request: `blocked` never reached the handler. */
export type ScoredVerdict = Verdict & { outcome: 'allowed' | 'blocked'; modelVersion: string };

/**
 * The guard's verdict, in `c.var.guard`. Data, not exceptions: `skipped` means the extractor
 * found nothing to check; `unavailable` means no model could score it and `failMode: 'open'` let
 * the request through.
 */
export type GuardVerdict = ScoredVerdict | { outcome: 'skipped'; reason: string } | { outcome: 'unavailable'; reason: string };

declare module 'hono' {
  interface ContextVariableMap {
    guard: GuardVerdict;
  }
}

export interface GuardOptions<E extends HonoEnv = HonoEnv> {
  /**
   * What happens when no model can score the request: `'closed'` answers 503
   * `model_unavailable`, `'open'` lets it through with `c.var.guard.outcome === 'unavailable'`.
   * Required, so every guarded route states its choice.
   */
  failMode: 'open' | 'closed';
  /**
   * Takes the text to check from the request; `null` = nothing to check (passes as `skipped`).
   * May throw a GuardError (or any HTTPException) to refuse the request.
   * Default: `lastUserMessage`, the last user message of an OpenAI chat completion body.
   */
  extract?: (c: Context<E>) => GuardInput | null | Promise<GuardInput | null>;
  /** Block when P(harmful) >= this. Default: the model manifest's `threshold`. */
  threshold?: number;
  /**
   * Per-request overrides of `threshold` and `failMode`, e.g. the caller's API key settings
   * (`(c) => c.var.apiKey?.settings`, as the EdgeGuard worker does); a field left undefined keeps
   * the option's value. Default: none.
   */
  policy?: (c: Context<E>) => { threshold?: number; failMode?: 'open' | 'closed' } | null | undefined;
  /** Status of a blocked request's response. Default 400 (as OpenAI-compatible content filters). */
  blockStatus?: ClientErrorStatusCode;
  /** JSON body of a blocked request's response. Default `{ error: { code: 'content_blocked', message } }`. */
  blockBody?: (verdict: ScoredVerdict) => unknown;
  /**
   * Where the model comes from. Default: the isolate's shared registry, which re-reads the model
   * pointer every `MODEL_TTL_SECONDS` of the env (default 30) and follows it in the background.
   */
  registry?: ModelRegistry;
  /** The R2 bucket holding the models. Default: the `MODELS` binding, `c.env.MODELS`. */
  bucket?: (c: Context<E>) => R2Bucket | undefined;
}

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const ChatBody = z.looseObject({
  messages: z.array(
    z.looseObject({
      role: z.string(),
      content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
    }),
  ),
});

/**
 * The default extractor: the text of the last `user` message of an OpenAI-style chat body
 * (string content, or the `text` parts of array content joined by newlines). Earlier messages
 * are not checked. `null` when there is no user message with text.
 * It refuses a `content-length` over 1 MiB; for chunked bodies put `bodyLimit()` (hono/body-limit)
 * in front, as the EdgeGuard worker does.
 * @throws GuardError 415 / 413 / 400 when the body is not a JSON chat body
 */
export async function lastUserMessage<E extends HonoEnv>(c: Context<E>): Promise<string | null> {
  const body = validate(ChatBody, await readJson(c));
  const last = body.messages.findLast((m) => m.role === 'user');
  const content = last?.content;
  if (content === undefined || content === null) return null;
  const text =
    typeof content === 'string'
      ? content
      : content.flatMap((part) => (part.type === 'text' && part.text !== undefined ? [part.text] : [])).join('\n');
  return text.trim() === '' ? null : text;
}

function checkOptions(options: GuardOptions<any>): void {
  if (options.failMode !== 'open' && options.failMode !== 'closed') {
    throw new TypeError(`guard(): failMode must be 'open' or 'closed', got ${String(options.failMode)}`);
  }
  if (options.threshold !== undefined && !(options.threshold >= 0 && options.threshold <= 1)) {
    throw new TypeError(`guard(): threshold must be within [0, 1], got ${options.threshold}`);
  }
  if (options.blockStatus !== undefined && !(options.blockStatus >= 400 && options.blockStatus <= 499)) {
    throw new TypeError(`guard(): blockStatus must be a 4xx status, got ${options.blockStatus}`);
  }
}

const defaultBlockBody = (verdict: ScoredVerdict) =>
  errorBody(
    'content_blocked',
    `blocked by EdgeGuard: P(harmful) ${verdict.score.toFixed(3)} >= threshold ${verdict.threshold} (model ${verdict.modelVersion})`,
  );

const toInput = (input: GuardInput): ClassifyInput =>
  typeof input === 'string' ? { prompt: input, response: null } : { prompt: input.prompt, response: input.response ?? null };

/**
 * Guards a route with the student model.
 * @param options `failMode` is required; see GuardOptions for the defaults of the rest
 * @throws TypeError at set-up, for options out of range
 * @example
 * import { Hono } from 'hono';
 * import { guard } from './middleware/guard.ts';
 *
 * const app = new Hono<{ Bindings: Env }>();
 * app.post('/v1/chat/completions', guard({ failMode: 'closed' }), async (c) => {
 *   // only prompts below the threshold get here; c.var.guard holds the verdict
 *   return c.json({ ok: true, score: c.var.guard.outcome === 'allowed' ? c.var.guard.score : null });
 * });
 * @example
 * // a custom extractor and threshold, failing open
 * guard({ failMode: 'open', threshold: 0.8, extract: async (c) => (await c.req.json()).comment })
 */
export function guard<E extends HonoEnv = HonoEnv>(options: GuardOptions<E>): MiddlewareHandler<E> {
  checkOptions(options);
  const extract = options.extract ?? lastUserMessage<E>;
  const registry = options.registry ?? sharedRegistry();
  const bucketOf = options.bucket ?? ((c: Context<E>) => (c.env as { MODELS?: R2Bucket } | undefined)?.MODELS);
  const blockStatus = options.blockStatus ?? 400;
  const blockBody = options.blockBody ?? defaultBlockBody;

  return async function guardMiddleware(c, next) {
    const input = await extract(c);
    if (input === null) {
      c.set('guard', { outcome: 'skipped', reason: 'the extractor found no text to check' });
      return next();
    }
    const override = options.policy?.(c);
    const failMode = override?.failMode ?? options.failMode;
    let model: LoadedModel;
    let verdict: Verdict;
    try {
      const bucket = bucketOf(c);
      if (!bucket) throw new ModelUnavailableError('no R2 bucket bound as MODELS');
      model = await registry.get(bucket, modelGetOptions(c));
      const { items } = await scoreInputs(model, [toInput(input)]);
      verdict = verdictOf(model.manifest, items[0]!.scores, override?.threshold ?? options.threshold);
    } catch (error) {
      if (!(error instanceof ModelUnavailableError || error instanceof ModelRuntimeError)) throw error;
      if (failMode === 'closed') throw new GuardError(503, 'model_unavailable', error.message, { cause: error });
      c.set('guard', { outcome: 'unavailable', reason: error.message });
      return next();
    }
    const modelVersion = model.manifest.version;
    c.header('x-edgeguard-model', modelVersion);
    if (verdict.flagged) {
      const blocked: ScoredVerdict = { ...verdict, outcome: 'blocked', modelVersion };
      c.set('guard', blocked);
      return c.json(blockBody(blocked) as object, blockStatus);
    }
    c.set('guard', { ...verdict, outcome: 'allowed', modelVersion });
    return next();
  };
}
