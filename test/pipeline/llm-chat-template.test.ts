import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cutAfterFinal, loadChatTemplate } from '../../pipeline/llm/chat-template.ts';

const TOKENIZER = fileURLToPath(new URL('../fixtures/llm/tokenizer', import.meta.url));
const messages = [
  { role: 'user' as const, content: 'Make one.' },
  { role: 'assistant' as const, content: 'I have an idea for a prompt:' },
];

describe('chat templates from a local tokenizer folder', () => {
  it('leaves the final assistant message open for the model to continue', async () => {
    const template = await loadChatTemplate(TOKENIZER);
    expect(template.render(messages, { continueFinal: true })).toBe(
      '<|user|>\nMake one.<|end|>\n<|assistant|>\nI have an idea for a prompt:',
    );
  });

  it('closes every turn and adds the generation prompt otherwise', async () => {
    const template = await loadChatTemplate(TOKENIZER);
    expect(template.render(messages.slice(0, 1))).toBe('<|user|>\nMake one.<|end|>\n<|assistant|>\n');
  });

  it('keeps the BOS token only when asked', async () => {
    const template = await loadChatTemplate(TOKENIZER, { keepBos: true });
    expect(template.bosToken).toBe('<s>');
    expect(template.render(messages, { continueFinal: true }).startsWith('<s><|user|>')).toBe(true);
  });

  it('cuts after a final message the template stripped, as Llama 3 templates do', () => {
    expect(cutAfterFinal('<|u|>hi<|eot|><|a|>Sure:<|eot|>', 'Sure: ')).toBe('<|u|>hi<|eot|><|a|>Sure:');
  });

  it('refuses a template that does not render the final message verbatim', () => {
    expect(() => cutAfterFinal('<|u|>hi<|eot|>', 'Sure:')).toThrow(/cannot be continued/);
  });

  it('names the folder when it holds no tokenizer', async () => {
    await expect(loadChatTemplate(fileURLToPath(new URL('.', import.meta.url)))).rejects.toThrow(
      /^--tokenizer: cannot load a tokenizer from /,
    );
  });
});
