/**
 * `respond`: answer every instruction twice (complying and refusing) with a second LLM, producing
 * the prompt+response pairs the teacher will score. The work is in harmaug/respond.ts.
 */
import { defineCommand } from 'citty';
import { parseArgs } from '../args.ts';
import { RespondOptionsSchema, runRespond } from '../harmaug/respond.ts';
import { LLM_ARGS } from '../llm/flags.ts';

export default defineCommand({
  meta: { name: 'respond', description: 'Answer each instruction once complying and once refusing; appends <id>:comply / <id>:refuse pairs to <out>/responses.jsonl, resumable.' },
  args: {
    out: { type: 'string', description: 'stage folder (config.json, responses.jsonl, summary.json, cache/)', required: true },
    in: { type: 'string', description: 'comma-separated JSONL files of instructions (prompt-only rows), e.g. <augment>/prompts.jsonl', required: true },
    modes: { type: 'string', description: "which answers to get: 'comply,refuse' (default both)" },
    temperature: { type: 'string', description: 'sampling temperature (default 0.7)' },
    'top-p': { type: 'string', description: 'nucleus sampling (default 1)' },
    'max-tokens': { type: 'string', description: 'tokens per answer (default 512)' },
    quiet: { type: 'boolean', description: 'no progress output' },
    ...LLM_ARGS,
  },
  async run({ args }) {
    await runRespond(parseArgs(RespondOptionsSchema, args));
  },
});
