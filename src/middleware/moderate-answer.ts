/**
 * `guard()`'s `moderateResponses` on the Hono side: which requests ask for it, which answers it
 * applies to (an OpenAI-compatible chat stream, `text/event-stream`), the prompt an answer is
 * judged with, what one check scores, the log line of a stop, and the handler's answer replaced by
 * the checked stream (stream-moderation.ts does the checking).
 */
import type { Context, Env as HonoEnv } from 'hono';
import type { ClassifyInput } from '../guard/classifier.ts';
import type { ChatRequest } from '../http/chat-request.ts';
import type { GuardScore, GuardScoreRequest, GuardScorer } from './scorers/scorer.ts';
import { CHECK_EVERY_RANGE, DEFAULT_CHECK_EVERY, moderateStream, type StreamStop } from './stream-moderation.ts';

/** How the answer is checked while it streams. */
export interface ResponseModeration<E extends HonoEnv = HonoEnv> {
  /**
   * Characters of a choice's text between two checks (and once more at its end): at most this
   * many reach the client unchecked. Default DEFAULT_CHECK_EVERY (200); 20 to 4,000.
   */
  every?: number;
  /**
   * The prompt the answer is judged with. Default: the last user message of the chat request the
   * default extractor read, else the input that decided the request.
   */
  prompt?: (c: Context<E>) => string | null;
}

/**
 * Characters of the prompt, and of the answer's end, one check of a streamed answer scores: a
 * check costs the same however long the answer grows (the answer's earlier windows were scored by
 * the checks before; the model reads 256-token windows, ~1,000 characters), and a long prompt
 * cannot make every check slow (a pair scores every prompt window with every answer window).
 */
export const RESPONSE_CHECK_CHARS = { prompt: 2_000, response: 4_000 } as const;

/**
 * The characters between checks that `moderation` asks for.
 * @throws TypeError for `every` out of CHECK_EVERY_RANGE
 */
export function checkModeration(moderation: ResponseModeration<any>): number {
  const every = moderation.every ?? DEFAULT_CHECK_EVERY;
  if (!(Number.isInteger(every) && every >= CHECK_EVERY_RANGE.min && every <= CHECK_EVERY_RANGE.max)) {
    throw new TypeError(
      `guard(): moderateResponses.every must be a whole number of characters from ${CHECK_EVERY_RANGE.min} to ${CHECK_EVERY_RANGE.max}, got ${every}`,
    );
  }
  return every;
}

/** A request's moderation, resolved: the characters between checks, and where its prompt comes from. */
export interface Moderation<E extends HonoEnv> {
  every: number;
  prompt?: (c: Context<E>) => string | null;
}

/**
 * The moderation a request asks for (`guard()`'s `moderateResponses`, a value or a function of
 * the request), or null.
 * @throws TypeError for `every` out of range; any error the function throws
 */
export function moderationOf<E extends HonoEnv>(
  option: boolean | ResponseModeration<E> | ((c: Context<E>) => boolean | ResponseModeration<E> | null | undefined) | undefined,
  c: Context<E>,
): Moderation<E> | null {
  const chosen = typeof option === 'function' ? option(c) : option;
  if (!chosen) return null;
  const moderation = chosen === true ? {} : chosen;
  return { every: checkModeration(moderation), prompt: moderation.prompt };
}

/** The text of the last user message of a chat request: what the answer answers. */
function lastUserText(request: ChatRequest): string | null {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role !== 'user') continue;
    const { content } = message;
    const text = typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
    return text.trim() === '' ? null : text;
  }
  return null;
}

/** The answer's text so far as one check scores it: with its prompt, each cut to its end. */
function checkInput(prompt: string | null, answer: string): ClassifyInput {
  const tail = answer.slice(-RESPONSE_CHECK_CHARS.response);
  return prompt === null ? { prompt: tail, response: null } : { prompt: prompt.slice(-RESPONSE_CHECK_CHARS.prompt), response: tail };
}

/** What `guard()` knows of the request whose answer is checked. */
export interface AnsweredRequest<E extends HonoEnv> {
  scorer: GuardScorer<E>;
  policy: GuardScoreRequest['policy'];
  maxIds: number;
  /** The request's inputs, and the one that decided it (null: none was scored). */
  inputs: ClassifyInput[];
  decisive: number | null;
  /** The chat request the default extractor validated, if it ran. */
  chatRequest: ChatRequest | null;
}

/**
 * Replaces the handler's answer, when it is a chat stream, with the same stream checked as it
 * goes (see stream-moderation.ts); any other answer stays as it is. A stop is logged as one line
 * with where it was caught and the verdict, never the text.
 * @example moderateAnswer(c, moderationOf(options.moderateResponses, c)!, { scorer, policy, maxIds, inputs, decisive, chatRequest })
 */
export function moderateAnswer<E extends HonoEnv>(c: Context<E>, moderation: Moderation<E>, request: AnsweredRequest<E>): void {
  const answer = c.res;
  if (!answer.body || !/^text\/event-stream\b/i.test(answer.headers.get('content-type') ?? '')) return;
  const { scorer, policy, maxIds, inputs, decisive, chatRequest } = request;
  const prompt = moderation.prompt
    ? moderation.prompt(c)
    : chatRequest
      ? lastUserText(chatRequest)
      : decisive === null
        ? null
        : (inputs[decisive]?.prompt ?? null);
  const route = c.req.path;
  const check = (text: string): Promise<GuardScore> =>
    scorer.score(c, { inputs: [checkInput(prompt, text)], policy, maxIds, route, stage: 'response' });
  const onStop = (stop: StreamStop) =>
    console.log(
      JSON.stringify({
        level: 'info',
        event: 'response_filtered',
        requestId: (c.var as { requestId?: string }).requestId ?? null,
        path: route,
        choice: stop.choice,
        at: stop.at,
        forwarded: stop.forwarded,
        score: Math.round(stop.score.verdict.score * 10_000) / 10_000,
        model: stop.score.modelVersion,
      }),
    );
  const headers = new Headers(answer.headers);
  headers.delete('content-length');
  const moderated = new Response(moderateStream(answer.body, { every: moderation.every, check, onStop }), {
    status: answer.status,
    statusText: answer.statusText,
    headers,
  });
  // replaced, not merged: Hono copies the old answer's headers into a new one (content-length too)
  c.res = undefined;
  c.res = moderated;
}
