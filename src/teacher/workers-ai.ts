/**
 * Llama Guard 3 on Cloudflare Workers AI: what it is asked and what its answer says, for the
 * pipeline (the REST API, `{ result: ... }`) and the worker (the `AI` binding, the result itself).
 * It answers a verdict and categories, never a probability.
 */
import { z } from 'zod';
import { parseHazardCodes, type HazardCode } from './hazards.ts';
import { parseVerdictText } from './llama-guard.ts';

/** The Workers AI model name of Llama Guard 3 8B. */
export const WORKERS_AI_LLAMA_GUARD = '@cf/meta/llama-guard-3-8b';

/**
 * The conversation Workers AI judges: the user's message, and the assistant's answer when the
 * response is the text to assess.
 * @example workersAiMessages('hi', null) // [{ role: 'user', content: 'hi' }]
 */
export function workersAiMessages(prompt: string, response: string | null): { role: 'user' | 'assistant'; content: string }[] {
  const messages: { role: 'user' | 'assistant'; content: string }[] = [{ role: 'user', content: prompt }];
  if (response !== null) messages.push({ role: 'assistant', content: response });
  return messages;
}

const VerdictSchema = z.object({ safe: z.boolean(), categories: z.array(z.string()).nullish() });

/**
 * A Workers AI Llama Guard result, read into `{ unsafe, codes }`. The documented shape is
 * `{ response: { safe, categories } }`; older answers put the verdict in the result itself, or
 * the model's raw text ("unsafe\nS1") in `response`. All three are read.
 */
export const WorkersAiResultSchema = z
  .union([
    z.object({ response: VerdictSchema }).transform((r) => r.response),
    VerdictSchema,
    z.object({ response: z.string() }).transform((r) => {
      const { unsafe, codes } = parseVerdictText(r.response);
      return { safe: !unsafe, categories: codes };
    }),
  ])
  .transform((verdict): { unsafe: boolean; codes: HazardCode[] } => {
    const unsafe = !verdict.safe;
    return { unsafe, codes: unsafe ? parseHazardCodes((verdict.categories ?? []).join(',')) : [] };
  });
