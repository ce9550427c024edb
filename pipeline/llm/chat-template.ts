/**
 * Renders a conversation with a model's own chat template, read from a local tokenizer folder
 * (`tokenizer_config.json` + `tokenizer.json`, as in every Hugging Face model folder) through
 * @huggingface/transformers with remote loading off: nothing is fetched, ever.
 *
 * With `continueFinal`, the last message (the assistant's prefix) is left open, as Python
 * transformers' `continue_final_message=True` does: the rendered text is cut right after that
 * message's content, so the end-of-turn tokens the template puts after it are dropped and the model
 * continues the prefix as its own words. transformers.js passes the option to the template but
 * does not cut, so the cut is done here, the same way.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { CLIError } from '../errors.ts';
import type { ChatMessage } from './protocol.ts';

export interface ChatTemplate {
  /**
   * The prompt text for a conversation.
   * @param options.continueFinal leave the last message open for the model to continue (default false:
   *   close it and add the generation prompt)
   */
  render(messages: ChatMessage[], options?: { continueFinal?: boolean }): string;
  /** The tokenizer's beginning-of-sequence token, if it has one. */
  bosToken: string | null;
}

/**
 * Loads the chat template of the tokenizer in `dir`.
 * @param options.keepBos keep the BOS token the template writes at the start (default false:
 *   servers' /v1/completions add BOS themselves when they tokenize, so keeping it doubles it)
 * @throws CLIError when the folder has no tokenizer or no chat template
 * @example const t = await loadChatTemplate('models/llama-3-8b-instruct'); t.render(messages, { continueFinal: true })
 */
export async function loadChatTemplate(dir: string, options: { keepBos?: boolean } = {}): Promise<ChatTemplate> {
  const folder = resolve(dir);
  const isDir = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new CLIError(`--tokenizer: ${dir} is not a folder`);
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(folder)}/`;
  let tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(basename(folder));
  } catch (error) {
    throw new CLIError(`--tokenizer: cannot load a tokenizer from ${dir}: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    tokenizer.get_chat_template();
  } catch {
    throw new CLIError(`--tokenizer: ${dir} has no chat_template in tokenizer_config.json`);
  }
  const bosToken = (tokenizer as unknown as { bos_token?: string | null }).bos_token ?? null;

  return {
    bosToken,
    render(messages, { continueFinal = false } = {}) {
      // continue_final_message is handed to the template (some read it); the types omit such extras.
      const renderOptions = { tokenize: false, add_generation_prompt: !continueFinal, continue_final_message: continueFinal };
      let text = tokenizer.apply_chat_template(messages, renderOptions as { tokenize: false }) as string;
      if (continueFinal) text = cutAfterFinal(text, messages.at(-1)?.content ?? '');
      if (!options.keepBos && bosToken && text.startsWith(bosToken)) text = text.slice(bosToken.length);
      return text;
    },
  };
}

/** Cuts a rendered conversation right after the last occurrence of the final message's content. */
export function cutAfterFinal(rendered: string, final: string): string {
  // Some templates (Llama 3's) strip message contents before rendering: then look for the stripped text.
  for (const needle of [final, final.trim()]) {
    const at = needle ? rendered.lastIndexOf(needle) : -1;
    if (at >= 0) return rendered.slice(0, at + needle.length);
  }
  throw new CLIError(
    'the chat template does not render the final message verbatim, so it cannot be continued; use --prefill vllm or another template',
  );
}
