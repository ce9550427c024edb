/**
 * `augment`: HarmAug generation of new harmful instructions from a labelled seed set, with the
 * affirmative prefix as a true prefill. Flags are checked up front; the work is in harmaug/augment.ts.
 */
import { defineCommand } from 'citty';
import { parseArgs } from '../args.ts';
import { AugmentOptionsSchema, runAugment } from '../harmaug/augment.ts';
import { LLM_ARGS } from '../llm/flags.ts';

export default defineCommand({
  meta: { name: 'augment', description: 'Generate harmful instructions by prefilled jailbreak (HarmAug); appends to <out>/prompts.jsonl, resumable.' },
  args: {
    out: { type: 'string', description: 'stage folder (config.json, prompts.jsonl, samples.jsonl, summary.json, cache/)', required: true },
    'seed-data': { type: 'string', description: 'comma-separated JSONL files in the Example schema; label-1 rows are the exemplars', required: true },
    count: { type: 'string', description: 'instructions to keep (default 100)' },
    'max-samples': { type: 'string', description: 'samples to draw at most (default 4 x count)' },
    k: { type: 'string', description: 'exemplars per request (default 3)' },
    prefill: { type: 'string', description: "how the prefix is prefilled: 'template' (render --tokenizer, /v1/completions), 'vllm' (continue_final_message), 'ollama-raw' (/api/generate raw) (default template)" },
    tokenizer: { type: 'string', description: 'local model folder with tokenizer_config.json (chat_template) and tokenizer.json; needed by template and ollama-raw' },
    'keep-bos': { type: 'boolean', description: 'keep the BOS token the template writes (default: drop it, servers add their own)' },
    temperature: { type: 'string', description: 'sampling temperature (default 1)' },
    'top-p': { type: 'string', description: 'nucleus sampling (default 1)' },
    'max-tokens': { type: 'string', description: 'tokens per sample (default 128)' },
    seed: { type: 'string', description: 'run seed: exemplar choice and per-request sampling seeds (default 0)' },
    'near-duplicate': { type: 'string', description: 'word-trigram Jaccard from which an instruction is a near duplicate (default 0.8)' },
    quiet: { type: 'boolean', description: 'no progress output' },
    ...LLM_ARGS,
  },
  async run({ args }) {
    await runAugment(parseArgs(AugmentOptionsSchema, args));
  },
});
