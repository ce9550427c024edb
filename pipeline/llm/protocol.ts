/**
 * The OpenAI-compatible wire format, as zod schemas: what we send to `/v1/chat/completions` and
 * `/v1/completions`, and what we accept back. Answers are checked here, at the edge, so a
 * malformed answer is caught where it arrives and never travels into a stage as `undefined`.
 * Foreign keys keep their spelling (`max_tokens`, `top_logprobs`).
 */
import { z } from 'zod';

/** One chat turn. */
export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** Sampling settings shared by both endpoints. */
export interface Sampling {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Per-request seed (OpenAI, vLLM, llama.cpp): makes a sampled answer reproducible. */
  seed?: number;
  stop?: string[];
}

/** Body of POST /v1/chat/completions. `continue_final_message` and `add_generation_prompt` are vLLM's. */
export interface ChatRequest extends Sampling {
  model: string;
  messages: ChatMessage[];
  logprobs?: boolean;
  top_logprobs?: number;
  continue_final_message?: boolean;
  add_generation_prompt?: boolean;
}

/** Body of POST /v1/completions. */
export interface CompletionRequest extends Sampling {
  model: string;
  prompt: string;
  /** How many alternatives per generated token to return (OpenAI allows up to 5). */
  logprobs?: number;
}

const UsageSchema = z
  .object({
    prompt_tokens: z.number().int().nonnegative().optional(),
    completion_tokens: z.number().int().nonnegative().optional(),
  })
  .nullish();

/** Token accounting as a server reports it (absent on some servers). */
export type Usage = z.infer<typeof UsageSchema>;

/** Completions logprobs: parallel arrays, one entry per generated token. */
export const CompletionLogprobsSchema = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()),
});
export type CompletionLogprobs = z.infer<typeof CompletionLogprobsSchema>;

export const CompletionResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        text: z.string(),
        finish_reason: z.string().nullish(),
        logprobs: CompletionLogprobsSchema.nullish(),
      }),
    )
    .min(1),
  usage: UsageSchema,
});
export type CompletionResponse = z.infer<typeof CompletionResponseSchema>;

const ChatTokenLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  top_logprobs: z.array(z.object({ token: z.string(), logprob: z.number() })),
});

export const ChatResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ role: z.string(), content: z.string().nullable() }),
        finish_reason: z.string().nullish(),
        logprobs: z.object({ content: z.array(ChatTokenLogprobSchema).nullable() }).nullish(),
      }),
    )
    .min(1),
  usage: UsageSchema,
});
export type ChatResponse = z.infer<typeof ChatResponseSchema>;

/** Ollama's native POST /api/generate with `raw: true` (no template applied by the server). */
export interface OllamaGenerateRequest {
  model: string;
  prompt: string;
  raw: true;
  stream: false;
  options: { num_predict?: number; temperature?: number; top_p?: number; seed?: number; stop?: string[] };
}

export const OllamaGenerateResponseSchema = z.object({
  response: z.string(),
  done: z.boolean().optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
});
export type OllamaGenerateResponse = z.infer<typeof OllamaGenerateResponseSchema>;

/** Tokens a response reports, whichever server dialect it speaks. */
export function usageOf(body: unknown): { prompt: number; completion: number } {
  const b = body as { usage?: Usage; prompt_eval_count?: number; eval_count?: number; result?: { usage?: Usage } };
  const usage = b.usage ?? b.result?.usage;
  return {
    prompt: usage?.prompt_tokens ?? b.prompt_eval_count ?? 0,
    completion: usage?.completion_tokens ?? b.eval_count ?? 0,
  };
}
