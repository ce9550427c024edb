/**
 * `label`: the teacher's P(unsafe), verdict and categories for every prompt and pair (Llama Guard 3
 * through /v1/completions logprobs, or Workers AI's REST API). The work is in harmaug/label.ts.
 */
import { defineCommand } from 'citty';
import { parseArgs } from '../args.ts';
import { LabelOptionsSchema, runLabel } from '../harmaug/label.ts';
import { LLM_ARGS } from '../llm/flags.ts';

export default defineCommand({
  meta: { name: 'label', description: 'Score prompts and pairs with the teacher (soft label P(unsafe), verdict, categories); appends to <out>/labeled.jsonl, resumable.' },
  args: {
    out: { type: 'string', description: 'stage folder (config.json, labeled.jsonl, verdicts.jsonl, summary.json, cache/)', required: true },
    in: { type: 'string', description: 'comma-separated JSONL files to score (prompts and/or pairs)', required: true },
    teacher: { type: 'string', description: "'llama-guard' (/v1/completions with logprobs) or 'workers-ai' (Cloudflare REST) (default llama-guard)" },
    threshold: { type: 'string', description: "the teacher's threshold on P(unsafe) for its hard label (default 0.5); not the student's" },
    'hard-score': { type: 'string', description: "workers-ai: score of an unsafe verdict (safe: 1 - it), or 'none' for label-only rows (default 0.95)" },
    account: { type: 'string', description: 'workers-ai: Cloudflare account id (token from $CLOUDFLARE_API_TOKEN)' },
    'top-logprobs': { type: 'string', description: 'llama-guard: alternatives per token to request (default 5)' },
    bos: { type: 'boolean', description: 'llama-guard: write <|begin_of_text|> into the prompt (default: the server adds it)' },
    'overwrite-labels': { type: 'boolean', description: 'replace human labels with the teacher verdict (default: keep them, add the score)' },
    quiet: { type: 'boolean', description: 'no progress output' },
    ...LLM_ARGS,
  },
  async run({ args }) {
    await runLabel(parseArgs(LabelOptionsSchema, args));
  },
});
