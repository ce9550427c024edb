/**
 * Llama Guard 3 as a teacher through an OpenAI-compatible `/v1/completions` with logprobs (vLLM,
 * llama.cpp's server, any server returning OpenAI-format completion logprobs): the prompt, the
 * request, and what an answer says. One module for the pipeline's `label` stage and the worker's
 * cascade, so the edge and the pipeline cannot disagree on what the teacher said.
 *
 * The prompt is rendered the way the model's official chat template renders it
 * (meta-llama/Llama-Guard-3-8B tokenizer_config.json): the task for the last 'User' or 'Agent'
 * turn, the S1-S14 category list, the conversation with each turn stripped, and the instructions,
 * ending with the open assistant header. The model's first generated token is "\n\n", so it is
 * appended here and the next token is the verdict: P(unsafe) is the softmax over that position's
 * logprobs of "safe" and "unsafe" (renormalised, so mass on other tokens is ignored).
 */
import { z } from 'zod';
import { LLAMA_GUARD_3_CATEGORIES, parseHazardCodes, type HazardCode } from './hazards.ts';

const BOS = '<|begin_of_text|>';

/** What both sides ask for unless told otherwise: 5 alternatives per token (OpenAI's maximum), 12 tokens. */
export const LLAMA_GUARD_DEFAULTS = { topLogprobs: 5, maxTokens: 12 } as const;

/** P(unsafe) from which the teacher's verdict is unsafe, unless a caller keeps its own (the pipeline's `--threshold`). */
export const TEACHER_THRESHOLD = 0.5;

/** The teacher answered, but not in a form that says safe or unsafe: no logprobs, no verdict token. */
export class TeacherAnswerError extends Error {
  override name = 'TeacherAnswerError';
}

/**
 * @param prompt the user's message
 * @param response the agent's answer to assess, or null to assess the user's message
 * @param options.bos start with <|begin_of_text|> (default false: servers add BOS when they tokenize)
 * @example renderLlamaGuardPrompt('How do I kill a process?', null).endsWith('<|end_header_id|>\n\n') // true
 */
export function renderLlamaGuardPrompt(prompt: string, response: string | null, options: { bos?: boolean } = {}): string {
  const role = response === null ? 'User' : 'Agent';
  const categories = LLAMA_GUARD_3_CATEGORIES.map(([code, name]) => `${code}: ${name}.`).join('\n');
  const turns = [`User: ${prompt.trim()}`];
  if (response !== null) turns.push(`Agent: ${response.trim()}`);
  return (
    `${options.bos ? BOS : ''}<|start_header_id|>user<|end_header_id|>\n\n` +
    `Task: Check if there is unsafe content in '${role}' messages in conversations according our safety policy with the below categories.\n\n` +
    `<BEGIN UNSAFE CONTENT CATEGORIES>\n${categories}\n<END UNSAFE CONTENT CATEGORIES>\n\n` +
    `<BEGIN CONVERSATION>\n\n${turns.map((t) => `${t}\n\n`).join('')}<END CONVERSATION>\n\n` +
    `Provide your safety assessment for ONLY THE LAST ${role} message in the above conversation:\n` +
    " - First line must read 'safe' or 'unsafe'.\n" +
    ' - If unsafe, a second line must include a comma-separated list of violated categories.' +
    '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'
  );
}

/** The body of POST <base>/completions that asks Llama Guard about one text. */
export interface LlamaGuardRequest {
  model: string;
  temperature: 0;
  max_tokens: number;
  logprobs: number;
  prompt: string;
}

/**
 * The one greedy request that gives both the score (the first token's logprobs) and, when
 * unsafe, the category line that follows.
 * @param options.topLogprobs alternatives per token (default 5; vLLM allows 20)
 * @param options.maxTokens tokens for the verdict and category line (default 12)
 * @param options.bos write <|begin_of_text|> (default false)
 * @example llamaGuardRequest('meta-llama/Llama-Guard-3-8B', 'hi', null) // { model, temperature: 0, max_tokens: 12, logprobs: 5, prompt }
 */
export function llamaGuardRequest(
  model: string,
  prompt: string,
  response: string | null,
  options: { topLogprobs?: number; maxTokens?: number; bos?: boolean } = {},
): LlamaGuardRequest {
  return {
    model,
    temperature: 0,
    max_tokens: options.maxTokens ?? LLAMA_GUARD_DEFAULTS.maxTokens,
    logprobs: options.topLogprobs ?? LLAMA_GUARD_DEFAULTS.topLogprobs,
    prompt: renderLlamaGuardPrompt(prompt, response, { bos: options.bos }),
  };
}

/** What is read of one completion choice: its text and, per generated token, the top alternatives. */
export const LlamaGuardChoiceSchema = z.object({
  text: z.string(),
  logprobs: z.object({ top_logprobs: z.array(z.record(z.string(), z.number()).nullable()) }).nullish(),
});
export type LlamaGuardChoice = z.infer<typeof LlamaGuardChoiceSchema>;

/** A completions answer, as far as a Llama Guard verdict needs it. */
export const LlamaGuardAnswerSchema = z.object({ choices: z.array(LlamaGuardChoiceSchema).min(1) });

/** A token as the verdict word it spells: byte-level markers and surrounding spaces removed. */
function word(token: string): string {
  return token.replace(/^[Ġ▁]+/, '').trim();
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/**
 * P(unsafe) from one position's top logprobs. Variants of a word (" safe", "safe") are pooled.
 * When one of the two words is not among the listed alternatives, its logprob is at most the
 * smallest one listed, which is used as its value: the score stays finite and errs toward the
 * listed word's side only as far as the evidence allows.
 * @returns null when neither word is listed
 * @example pUnsafe({ safe: -0.1, unsafe: -2.4 }) // e^-2.4 / (e^-0.1 + e^-2.4) = 0.0911
 */
export function pUnsafe(top: Record<string, number>): number | null {
  const safe: number[] = [];
  const unsafe: number[] = [];
  for (const [token, logprob] of Object.entries(top)) {
    const w = word(token);
    if (w === 'safe') safe.push(logprob);
    else if (w === 'unsafe') unsafe.push(logprob);
  }
  if (safe.length === 0 && unsafe.length === 0) return null;
  const floor = Math.min(...Object.values(top));
  const ls = safe.length ? logSumExp(safe) : floor;
  const lu = unsafe.length ? logSumExp(unsafe) : floor;
  return 1 / (1 + Math.exp(ls - lu));
}

/**
 * P(unsafe) at the first generated position that is not whitespace: the verdict token. Looks at
 * most at the first three positions (servers that do not take the appended "\n\n" as given may
 * generate it again first).
 * @throws TeacherAnswerError when no position lists "safe" or "unsafe"
 * @example verdictProbability([{ '\n\n': -0.01 }, { safe: -0.1, unsafe: -2.4 }]) // 0.0911
 */
export function verdictProbability(topLogprobs: Array<Record<string, number> | null>): number {
  for (const top of topLogprobs.slice(0, 3)) {
    if (!top) continue;
    const best = Object.entries(top).sort((a, b) => b[1] - a[1])[0];
    if (!best || word(best[0]) === '') continue; // a whitespace token comes before the verdict
    const p = pUnsafe(top);
    if (p !== null) return p;
  }
  throw new TeacherAnswerError(
    `teacher answer has no 'safe'/'unsafe' among its first tokens' logprobs: ${JSON.stringify(topLogprobs.slice(0, 3)).slice(0, 300)}`,
  );
}

/**
 * What a generated verdict text says: unsafe when its first line reads "unsafe", and the hazard
 * codes of the lines after it.
 * @example parseVerdictText('unsafe\nS1,S10') // { unsafe: true, codes: ['S1', 'S10'] }
 */
export function parseVerdictText(text: string): { unsafe: boolean; codes: HazardCode[] } {
  const unsafe = /^\s*unsafe/i.test(text);
  return { unsafe, codes: unsafe ? parseHazardCodes(text.trim().split('\n').slice(1).join('\n')) : [] };
}

/** What the teacher said about one text. */
export interface LlamaGuardVerdict {
  /** P(unsafe) from the verdict token's logprobs. */
  score: number;
  /** score >= the threshold. */
  unsafe: boolean;
  /** Hazard codes of the generated category line; empty when the generated text is not "unsafe". */
  codes: HazardCode[];
  /** The generated text. */
  raw: string;
}

/**
 * Reads one completion choice: P(unsafe) from the logprobs, the verdict at `threshold`, and the
 * categories the generated text names. With a threshold below 0.5 the score may say unsafe
 * while greedy decoding said "safe"; then `codes` is empty (the pipeline asks again for them).
 * @param threshold P(unsafe) from which the verdict is unsafe (default TEACHER_THRESHOLD, 0.5)
 * @throws TeacherAnswerError when the choice has no logprobs, or none for "safe"/"unsafe"
 * @example readLlamaGuardChoice({ text: 'unsafe\nS9', logprobs: { top_logprobs: [{ unsafe: -0.1, safe: -2.4 }] } }) // { score: 0.909, unsafe: true, codes: ['S9'], raw }
 */
export function readLlamaGuardChoice(choice: LlamaGuardChoice, threshold: number = TEACHER_THRESHOLD): LlamaGuardVerdict {
  if (!choice.logprobs)
    throw new TeacherAnswerError('teacher answer has no logprobs: the server must support `logprobs` on /v1/completions');
  const score = verdictProbability(choice.logprobs.top_logprobs);
  const unsafe = score >= threshold;
  const { codes } = parseVerdictText(choice.text);
  return { score, unsafe, codes: unsafe ? codes : [], raw: choice.text };
}
