/**
 * Moderation of an answer while it streams: an OpenAI-compatible chat stream (SSE) passes through
 * event by event while the text of each choice is checked every `every` characters and once more
 * at its end. When a check flags it, nothing more is forwarded: the stream ends with a chunk whose
 * `finish_reason` is `content_filter` (what OpenAI's API sends when its own filter stops an answer,
 * and what OpenAI's SDKs surface) and `[DONE]`, and the upstream is cancelled. So at most `every`
 * characters of a choice ever reach the client unchecked, and nothing past the check that caught it.
 *
 * A check runs before the event that makes it due is forwarded: the stream waits for it (the
 * latency this adds is the check's, once per `every` characters; the events between checks pass at once).
 */
import { GuardError } from '../errors.ts';
import { SseParser, chunkIdentity, chunkText, dataEvent, rawEvent, type SseEvent } from '../http/sse.ts';
import type { GuardScore } from './scorers/scorer.ts';

/** Characters between two checks when `every` is not set. */
export const DEFAULT_CHECK_EVERY = 200;
/** The range `every` may take: a check per token would be all the work; over a few windows, too much gets through. */
export const CHECK_EVERY_RANGE = { min: 20, max: 4_000 } as const;

/** Why a stream was stopped, for the caller's log: which choice, after how many characters, the verdict. */
export interface StreamStop {
  choice: number;
  /** Characters of the choice's text when the check that flagged it ran. */
  at: number;
  /** Characters of it forwarded to the client before the stop. */
  forwarded: number;
  score: Extract<GuardScore, { scored: true }>;
}

export interface StreamChecks {
  /** Characters of a choice's text between two checks. */
  every: number;
  /**
   * Scores a choice's text so far (the caller pairs it with its prompt).
   * @throws GuardError when it cannot (failing closed, a misconfigured scorer): the stream then
   *   ends with an error event the SDKs raise
   */
  check(text: string): Promise<GuardScore>;
  /** Told once, when a check flags the answer. */
  onStop?(stop: StreamStop): void;
  /** Told of each check that could not score (failing open: the answer streams on unchecked). */
  onUnscored?(reason: string): void;
}

interface Choice {
  text: string;
  checked: number;
  forwarded: number;
  finished: boolean;
}

/**
 * The upstream's SSE body with the checks applied (see above).
 * @example return new Response(moderateStream(upstream.body, { every: 200, check }), upstream)
 */
export function moderateStream(upstream: ReadableStream<Uint8Array>, checks: StreamChecks): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const parser = new SseParser();
  const choices = new Map<number, Choice>();
  let identity: Record<string, unknown> = { id: 'chatcmpl-edgeguard', created: Math.floor(Date.now() / 1000), model: 'unknown' };
  let ended = false;

  const choiceAt = (index: number): Choice => {
    let choice = choices.get(index);
    if (!choice) choices.set(index, (choice = { text: '', checked: 0, forwarded: 0, finished: false }));
    return choice;
  };

  /** Checks the choices due (all with unchecked text when `force`); the first flagged one stops the stream. */
  async function checkDue(indices: Iterable<number>, force: boolean): Promise<StreamStop | null> {
    for (const index of indices) {
      const choice = choiceAt(index);
      const unchecked = choice.text.length - choice.checked;
      if (unchecked === 0 || (!force && unchecked < checks.every)) continue;
      choice.checked = choice.text.length;
      const score = await checks.check(choice.text);
      if (!score.scored) checks.onUnscored?.(score.reason);
      else if (score.verdict.flagged) return { choice: index, at: choice.checked, forwarded: choice.forwarded, score };
    }
    return null;
  }

  /** The events that end a stopped stream: every unfinished choice filtered, then `[DONE]`. */
  function stopEvents(stop: StreamStop): Uint8Array[] {
    checks.onStop?.(stop);
    const { score } = stop;
    const comment = `: blocked by EdgeGuard: P(harmful) ${score.verdict.score.toFixed(3)} >= threshold ${score.verdict.threshold} (model ${score.modelVersion}) in choice ${stop.choice} after ${stop.at} characters\n\n`;
    const unfinished = [...choices].filter(([, choice]) => !choice.finished).map(([index]) => index);
    const finals = (unfinished.length > 0 ? unfinished : [stop.choice]).map((index) =>
      dataEvent(
        JSON.stringify({
          ...identity,
          object: 'chat.completion.chunk',
          choices: [{ index, delta: {}, logprobs: null, finish_reason: 'content_filter' }],
        }),
      ),
    );
    return [new TextEncoder().encode(comment), ...finals, dataEvent('[DONE]')];
  }

  /** An error event, as OpenAI's API sends one mid-stream: the SDKs raise it as an APIError. */
  function errorEvent(error: GuardError): Uint8Array {
    return dataEvent(JSON.stringify({ error: { message: error.message, type: 'edgeguard_error', code: error.code } }));
  }

  /** What to send for one upstream event: the event itself, or (stopping) the end. */
  async function handle(event: SseEvent): Promise<{ out: Uint8Array[]; stop: boolean }> {
    if (event.data === '[DONE]') {
      const stop = await checkDue(choices.keys(), true);
      return stop ? { out: stopEvents(stop), stop: true } : { out: [rawEvent(event)], stop: false };
    }
    const chunk = event.data === null ? null : chunkText(event.data);
    if (chunk === null) return { out: [rawEvent(event)], stop: false };
    identity = chunkIdentity(event.data!) ?? identity;
    for (const [index, added] of chunk.text) choiceAt(index).text += added;
    const stop = (await checkDue(chunk.text.keys(), false)) ?? (await checkDue(chunk.finished, true));
    if (stop) return { out: stopEvents(stop), stop: true };
    for (const index of chunk.text.keys()) choiceAt(index).forwarded = choiceAt(index).text.length;
    for (const index of chunk.finished) choiceAt(index).finished = true;
    return { out: [rawEvent(event)], stop: false };
  }

  async function finish(controller: ReadableStreamDefaultController<Uint8Array>, out: Uint8Array[], cancelUpstream: boolean) {
    ended = true;
    for (const bytes of out) controller.enqueue(bytes);
    controller.close();
    if (cancelUpstream) await reader.cancel('stopped by EdgeGuard').catch(() => {});
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (ended) return;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          const events = done ? parser.end() : parser.push(value);
          let sent = false;
          for (const event of events) {
            const { out, stop } = await handle(event);
            if (stop) return await finish(controller, out, !done);
            for (const bytes of out) controller.enqueue(bytes);
            sent = true;
          }
          if (done) {
            // an upstream that ended without [DONE]: its last text is checked all the same
            const stop = await checkDue(choices.keys(), true);
            return await finish(controller, stop ? stopEvents(stop) : [], false);
          }
          if (sent) return;
        }
      } catch (error) {
        if (!(error instanceof GuardError)) throw error;
        await finish(controller, [errorEvent(error)], true);
      }
    },
    async cancel(reason) {
      ended = true;
      await reader.cancel(reason);
    },
  });
}
