/**
 * Llama Guard 3 on Cloudflare Workers AI as a teacher, through its REST API:
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
import type { LlmClient } from '../client.ts';
import { type HazardCode, parseHazardCodes } from './categories.ts';
import type { Teacher, Verdict } from './teacher.ts';

export const WORKERS_AI_LLAMA_GUARD = '@cf/meta/llama-guard-3-8b';

const VerdictSchema = z.object({ safe: z.boolean(), categories: z.array(z.string()).nullish() });

// The documented shape is result.response = { safe, categories }; older answers put the verdict in
// result itself, or the model's raw text ("unsafe\nS1") in result.response. All three are read.
const AnswerSchema = z.object({
  result: z.union([
    z.object({ response: VerdictSchema }).transform((r) => r.response),
    VerdictSchema,
    z.object({ response: z.string() }).transform((r) => ({ safe: !/^\s*unsafe/i.test(r.response), categories: parseHazardCodes(r.response.split('\n').slice(1).join(',')) })),
  ]),
});

export interface WorkersAiOptions {
  /** Model path (default @cf/meta/llama-guard-3-8b). */
  model?: string;
  /** Score given to an unsafe verdict (1 - it to a safe one); null: label only. Default 0.95. */
  hardScore?: number | null;
}

/**
 * @param client a client whose base URL is https://api.cloudflare.com/client/v4/accounts/<account>/ai/run
 * @example createWorkersAiTeacher(client).judge({ prompt: 'hi', response: null }) // { score: 0.05, label: 0, codes: [] }
 */
export function createWorkersAiTeacher(client: LlmClient, options: WorkersAiOptions = {}): Teacher {
  const model = options.model ?? WORKERS_AI_LLAMA_GUARD;
  const hard = options.hardScore === undefined ? 0.95 : options.hardScore;
  return {
    name: `workers-ai:${model}`,
    async judge({ prompt, response }): Promise<Verdict> {
      const messages = [{ role: 'user', content: prompt }];
      if (response !== null) messages.push({ role: 'assistant', content: response });
      const { result } = await client.post(model, { messages }, AnswerSchema);
      const unsafe = !result.safe;
      const codes: HazardCode[] = unsafe ? parseHazardCodes((result.categories ?? []).join(',')) : [];
      return {
        score: hard === null ? null : unsafe ? hard : Number((1 - hard).toFixed(12)), // 0.05, not 0.050000000000000044
        label: unsafe ? 1 : 0,
        codes,
        raw: unsafe ? `unsafe\n${codes.join(',')}` : 'safe',
      };
    },
  };
}
