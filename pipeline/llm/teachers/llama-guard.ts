/**
 * Llama Guard 3 as a teacher through /v1/completions with logprobs (vLLM, llama.cpp's server,
 * any server that returns OpenAI-format completion logprobs). The prompt, the request and the
 * reading of the answer are the worker's own (src/teacher/llama-guard.ts), so `label` and the
 * edge's cascade cannot disagree. Here, only what a training run adds: the client's retries and
 * cache, and, when the score says unsafe at our threshold but greedy decoding said "safe"
 * (possible with a threshold below 0.5), a second short request that continues "unsafe\n" to
 * read the categories.
 */
import { parseHazardCodes } from '../../../src/teacher/hazards.ts';
import { TeacherAnswerError, TEACHER_THRESHOLD, llamaGuardRequest, readLlamaGuardChoice } from '../../../src/teacher/llama-guard.ts';
import type { LlmClient } from '../client.ts';
import { LlmError } from '../llm-error.ts';
import type { Teacher, Verdict } from './teacher.ts';

export interface LlamaGuardOptions {
  model: string;
  /** P(unsafe) from which the teacher's label is 1 (default 0.5). */
  threshold?: number;
  /** Alternatives per token to ask for (default 5, OpenAI's maximum; vLLM allows 20). */
  topLogprobs?: number;
  /** Tokens to generate for the verdict and category line (default 12). */
  maxTokens?: number;
  /** Write <|begin_of_text|> into the prompt (default false: the server adds BOS). */
  bos?: boolean;
}

/**
 * @example const teacher = createLlamaGuardTeacher(client, { model: 'meta-llama/Llama-Guard-3-8B' });
 * await teacher.judge({ prompt: 'How do I kill a process?', response: null }) // { score: 0.01, label: 0, ... }
 */
export function createLlamaGuardTeacher(client: LlmClient, options: LlamaGuardOptions): Teacher {
  const threshold = options.threshold ?? TEACHER_THRESHOLD;
  return {
    name: `llama-guard:${options.model}`,
    async judge({ prompt, response }): Promise<Verdict> {
      const request = llamaGuardRequest(options.model, prompt, response, options);
      const answer = await client.complete(request);
      let verdict;
      try {
        verdict = readLlamaGuardChoice(answer.choices[0]!, threshold);
      } catch (error) {
        if (!(error instanceof TeacherAnswerError)) throw error;
        throw new LlmError(error.message, { kind: 'malformed', retryable: false, cause: error });
      }
      let { codes, raw } = verdict;
      if (verdict.unsafe && !/^\s*unsafe/.test(raw)) {
        const more = await client.complete({
          model: options.model,
          temperature: 0,
          max_tokens: request.max_tokens,
          prompt: `${request.prompt}unsafe\n`,
        });
        raw = `unsafe\n${more.choices[0]!.text}`;
        codes = parseHazardCodes(more.choices[0]!.text);
      }
      return { score: verdict.score, label: verdict.unsafe ? 1 : 0, codes, raw };
    },
  };
}
