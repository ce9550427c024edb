/**
 * The teacher as the worker reaches it, one call per text: Llama Guard 3 behind an
 * OpenAI-compatible `/v1/completions` (over `fetch`, asking exactly what the pipeline's `label`
 * asks: teacher/llama-guard.ts), or on Workers AI through the `AI` binding (a verdict and
 * categories, no probability). A verdict is data; a teacher that cannot be reached, answers an
 * error status or answers something that is not a verdict is a TeacherCallError, which the
 * cascade turns into "the student decides, and here is why". No retries: the caller waits.
 */
import type { HazardCode } from './hazards.ts';
import { LlamaGuardAnswerSchema, TeacherAnswerError, llamaGuardRequest, readLlamaGuardChoice } from './llama-guard.ts';
import { WorkersAiResultSchema, workersAiMessages } from './workers-ai.ts';

/** Why a teacher call gave no verdict: no answer in time, an error or no answer at all, an answer that is not a verdict. */
export type TeacherFailure = 'timeout' | 'unavailable' | 'malformed';

/** A teacher call that gave no verdict. */
export class TeacherCallError extends Error {
  override name = 'TeacherCallError';
  readonly failure: TeacherFailure;

  constructor(failure: TeacherFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/** What the teacher said about one text. */
export interface TeacherJudgement {
  unsafe: boolean;
  /** P(unsafe); null for a teacher that answers a verdict only (Workers AI). */
  score: number | null;
  /** The hazard codes it named (empty when safe). */
  codes: HazardCode[];
}

/** A text for the teacher: a prompt, or a prompt and the response to judge in its context. */
export interface TeacherText {
  prompt: string;
  response: string | null;
}

/** One teacher, ready to be asked. */
export interface TeacherClient {
  kind: 'openai-compatible' | 'workers-ai';
  /** The model as the server or Workers AI knows it. */
  model: string;
  /** Names this teacher (kind, URL, model) for its per-isolate budget and the logs; never the key. */
  name: string;
  /**
   * Asks about one text.
   * @param signal aborts the call (the cascade's timeout)
   * @throws TeacherCallError when no verdict came back
   */
  judge(text: TeacherText, signal: AbortSignal): Promise<TeacherJudgement>;
}

/** The part of the Workers AI binding the teacher uses. */
export interface AiBinding {
  run(model: string, inputs: { messages: { role: string; content: string }[] }): Promise<unknown>;
}

const isAbort = (error: unknown) => error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/**
 * Llama Guard 3 behind an OpenAI-compatible server: POST `<url>/completions` with the shared
 * prompt, `temperature: 0`, `logprobs: 5`, `max_tokens: 12`, and `Authorization: Bearer <apiKey>`
 * when a key is set. Redirects are not followed (the texts go nowhere the operator did not name).
 * @param options.url the base URL with its /v1, e.g. http://127.0.0.1:8001/v1
 * @example const teacher = createOpenAiTeacher({ url: env.TEACHER_URL, model: 'meta-llama/Llama-Guard-3-8B' });
 * await teacher.judge({ prompt: 'hi', response: null }, AbortSignal.timeout(1500)) // { unsafe: false, score: 0.01, codes: [] }
 */
export function createOpenAiTeacher(options: { url: string; model: string; apiKey?: string | null }): TeacherClient {
  const endpoint = `${options.url.replace(/\/+$/, '')}/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return {
    kind: 'openai-compatible',
    model: options.model,
    name: `openai-compatible:${options.url}:${options.model}`,
    async judge({ prompt, response }, signal) {
      const body = JSON.stringify(llamaGuardRequest(options.model, prompt, response));
      let answer: Response;
      let json: unknown;
      try {
        answer = await fetch(endpoint, { method: 'POST', headers, body, signal, redirect: 'manual' });
        if (!answer.ok) {
          await answer.body?.cancel();
          throw new TeacherCallError(
            'unavailable',
            `the teacher answered ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`,
          );
        }
        json = await answer.json().catch((error: unknown) => {
          if (isAbort(error)) throw error;
          throw new TeacherCallError('malformed', 'the teacher answered something that is not JSON');
        });
      } catch (error) {
        if (error instanceof TeacherCallError) throw error;
        if (isAbort(error)) throw new TeacherCallError('timeout', 'the teacher did not answer in time', { cause: error });
        throw new TeacherCallError('unavailable', `cannot reach the teacher: ${(error as Error)?.message ?? error}`, { cause: error });
      }
      const parsed = LlamaGuardAnswerSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new TeacherCallError(
          'malformed',
          `the teacher's answer is not a completion: ${issue.path.join('.') || 'the body'}: ${issue.message}`,
        );
      }
      try {
        const verdict = readLlamaGuardChoice(parsed.data.choices[0]!);
        return { unsafe: verdict.unsafe, score: verdict.score, codes: verdict.codes };
      } catch (error) {
        if (error instanceof TeacherAnswerError) throw new TeacherCallError('malformed', error.message, { cause: error });
        throw error;
      }
    },
  };
}

/**
 * Llama Guard 3 on Workers AI through the `AI` binding: `{ messages }` in, `{ response: { safe,
 * categories } }` out (teacher/workers-ai.ts reads the older shapes too). No probability, so
 * `score` is null. The binding takes no abort signal: the cascade stops waiting at its timeout.
 * @example createWorkersAiTeacher({ binding: env.AI, model: '@cf/meta/llama-guard-3-8b' })
 */
export function createWorkersAiTeacher(options: { binding: AiBinding; model: string }): TeacherClient {
  return {
    kind: 'workers-ai',
    model: options.model,
    name: `workers-ai:${options.model}`,
    async judge({ prompt, response }) {
      let result: unknown;
      try {
        result = await options.binding.run(options.model, { messages: workersAiMessages(prompt, response) });
      } catch (error) {
        throw new TeacherCallError('unavailable', `Workers AI failed: ${(error as Error)?.message ?? error}`, { cause: error });
      }
      const parsed = WorkersAiResultSchema.safeParse(result);
      if (!parsed.success)
        throw new TeacherCallError(
          'malformed',
          `Workers AI's answer is not a Llama Guard verdict: ${JSON.stringify(result)?.slice(0, 200)}`,
        );
      return { unsafe: parsed.data.unsafe, score: null, codes: parsed.data.codes };
    },
  };
}
