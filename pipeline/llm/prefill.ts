/**
 * True prefill: the model continues an assistant turn that we started ("I have an idea for a
 * prompt:"), instead of answering a request to start that way. Three ways to get it:
 * - `template`: we render the model's chat template ourselves (local tokenizer folder), leave the
 *   assistant turn open, and send the text to /v1/completions (vLLM, llama.cpp's server, any
 *   server with a completions endpoint);
 * - `vllm`: a chat request with vLLM's `continue_final_message: true, add_generation_prompt: false`;
 * - `ollama-raw`: we render the template and send it to Ollama's /api/generate with `raw: true`
 *   (Ollama's /v1 endpoints would wrap it in the template again).
 */
import type { ChatTemplate } from './chat-template.ts';
import type { LlmClient } from './client.ts';
import type { ChatMessage, Sampling } from './protocol.ts';

export const PREFILL_MODES = ['template', 'vllm', 'ollama-raw'] as const;
export type PrefillMode = (typeof PREFILL_MODES)[number];

/** Continues a conversation whose last message is the assistant's started answer. */
export type Continue = (messages: ChatMessage[], sampling: Sampling) => Promise<string>;

/**
 * @param options.template required for `template` and `ollama-raw`
 * @example const go = createContinue(client, { mode: 'vllm', model: 'm' }); await go(messages, { temperature: 1 })
 */
export function createContinue(client: LlmClient, options: { mode: PrefillMode; model: string; template?: ChatTemplate | null }): Continue {
  const { mode, model, template } = options;
  if (mode !== 'vllm' && !template) throw new Error(`prefill mode '${mode}' needs a chat template`);
  switch (mode) {
    case 'template':
      return async (messages, sampling) => {
        const prompt = template!.render(messages, { continueFinal: true });
        const answer = await client.complete({ model, prompt, ...sampling });
        return answer.choices[0]!.text;
      };
    case 'vllm':
      return async (messages, sampling) => {
        const answer = await client.chat({ model, messages, continue_final_message: true, add_generation_prompt: false, ...sampling });
        return answer.choices[0]!.message.content ?? '';
      };
    case 'ollama-raw':
      return async (messages, sampling) => {
        const prompt = template!.render(messages, { continueFinal: true });
        const { max_tokens, temperature, top_p, seed, stop } = sampling;
        const options = { num_predict: max_tokens, temperature, top_p, seed, stop };
        const answer = await client.ollamaGenerate({ model, prompt, raw: true, stream: false, options });
        return answer.response;
      };
  }
}
