/**
 * Llama Guard 3 as a teacher through /v1/completions with logprobs (vLLM, llama.cpp's server,
 * any server that returns OpenAI-format completion logprobs). One greedy request per example
 * gives both the score (first token's logprobs of "safe"/"unsafe") and, when the verdict is
 * unsafe, the category line that follows. If the score says unsafe at our threshold but greedy
 * decoding said "safe" (possible with a threshold below 0.5), a second short request continues
 * "unsafe\n" to read the categories.
 */
import type { LlmClient } from '../client.ts';
import { LlmError } from '../llm-error.ts';
import { parseHazardCodes } from './categories.ts';
import { renderLlamaGuardPrompt } from './llama-guard-prompt.ts';
import { verdictProbability } from './logprobs.ts';
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
  const threshold = options.threshold ?? 0.5;
  const base = { model: options.model, temperature: 0, max_tokens: options.maxTokens ?? 12, logprobs: options.topLogprobs ?? 5 };
  return {
    name: `llama-guard:${options.model}`,
    async judge({ prompt, response }): Promise<Verdict> {
      const text = renderLlamaGuardPrompt(prompt, response, { bos: options.bos });
      const answer = await client.complete({ ...base, prompt: text });
      const choice = answer.choices[0]!;
      if (!choice.logprobs) throw new LlmError('teacher answer has no logprobs: the server must support `logprobs` on /v1/completions', { kind: 'malformed', retryable: false });
      const score = verdictProbability(choice.logprobs.top_logprobs);
      const label = score >= threshold ? 1 : 0;
      let raw = choice.text;
      let codes = label ? parseHazardCodes(raw.split('\n').slice(1).join('\n')) : [];
      if (label && !/^\s*unsafe/.test(raw)) {
        const more = await client.complete({ model: options.model, temperature: 0, max_tokens: base.max_tokens, prompt: `${text}unsafe\n` });
        raw = `unsafe\n${more.choices[0]!.text}`;
        codes = parseHazardCodes(more.choices[0]!.text);
      }
      return { score, label, codes, raw };
    },
  };
}
