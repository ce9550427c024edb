/**
 * `label`: the teacher's P(unsafe), verdict and categories for every prompt and pair (Llama Guard 3
 * through /v1/completions logprobs, or Workers AI's REST API). The work is in harmaug/label.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { LabelOptionsSchema, runLabel } from '../harmaug/label.ts';

export default defineFlagCommand({
  meta: {
    name: 'label',
    description:
      'Score prompts and pairs with the teacher (soft label P(unsafe), verdict, categories); appends to <out>/labeled.jsonl, resumable.',
  },
  flags: LabelOptionsSchema,
  run: runLabel,
});
