/**
 * Llama Guard 3 on Cloudflare Workers AI as a teacher, through its REST API (the request and the
 * reading of its answer are shared with the worker: src/teacher/workers-ai.ts):
 * POST https://api.cloudflare.com/client/v4/accounts/<account>/ai/run/@cf/meta/llama-guard-3-8b
 * with `{ messages }`, answered `{ result: { response: { safe, categories } } }`.
 *
 * It returns a verdict and categories, no probabilities. A hard verdict becomes a training target
 * by label smoothing: score = hardScore (default 0.95) when unsafe, 1 - hardScore when safe, and
 * label = the verdict. The soft target keeps the KL term of distillation finite and stops the
 * student being pushed to extreme logits by a teacher whose confidence is unknown. With
 * hardScore null the rows carry the label only (score null), and distillation uses cross-entropy
 * alone for them.
 */
import { z } from 'zod';
import { WORKERS_AI_LLAMA_GUARD, WorkersAiResultSchema, workersAiMessages } from '../../../src/teacher/workers-ai.ts';
import type { LlmClient } from '../client.ts';
import type { Teacher, Verdict } from './teacher.ts';

export { WORKERS_AI_LLAMA_GUARD };

/** The REST API wraps the model's result (read as the worker's binding reads it) in `result`. */
const AnswerSchema = z.object({ result: WorkersAiResultSchema });

export interface WorkersAiOptions {
  /** Model path (default @cf/meta/llama-guard-3-8b). */
  model?: string;
  /** Score given to an unsafe verdict (1 - it to a safe one); null: label only. Default 0.95. */
  hardScore?: number | null;
}

/** Default score of an unsafe verdict (1 - it for a safe one): `label --hard-score`, `feedback pull --hard-score`. */
export const HARD_SCORE = 0.95;

/**
 * The training target of a verdict without a probability, by label smoothing.
 * @param hard the score of an unsafe verdict (1 - it for a safe one), or null for label-only rows
 * @example hardTarget(false, 0.95) // 0.05
 */
export function hardTarget(unsafe: boolean, hard: number | null): number | null {
  if (hard === null) return null;
  return unsafe ? hard : Number((1 - hard).toFixed(12)); // 0.05, not 0.050000000000000044
}

/**
 * @param client a client whose base URL is https://api.cloudflare.com/client/v4/accounts/<account>/ai/run
 * @example createWorkersAiTeacher(client).judge({ prompt: 'hi', response: null }) // { score: 0.05, label: 0, codes: [] }
 */
export function createWorkersAiTeacher(client: LlmClient, options: WorkersAiOptions = {}): Teacher {
  const model = options.model ?? WORKERS_AI_LLAMA_GUARD;
  const hard = options.hardScore === undefined ? HARD_SCORE : options.hardScore;
  return {
    name: `workers-ai:${model}`,
    async judge({ prompt, response }): Promise<Verdict> {
      const { result } = await client.post(model, { messages: workersAiMessages(prompt, response) }, AnswerSchema);
      const { unsafe, codes } = result;
      return {
        score: hardTarget(unsafe, hard),
        label: unsafe ? 1 : 0,
        codes,
        raw: unsafe ? `unsafe\n${codes.join(',')}` : 'safe',
      };
    },
  };
}
