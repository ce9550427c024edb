/**
 * `augment`: HarmAug generation of new harmful instructions from a labelled seed set, with the
 * affirmative prefix as a true prefill. Flags are checked up front; the work is in harmaug/augment.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { AugmentOptionsSchema, runAugment } from '../harmaug/augment.ts';

export default defineFlagCommand({
  meta: {
    name: 'augment',
    description: 'Generate harmful instructions by prefilled jailbreak (HarmAug); appends to <out>/prompts.jsonl, resumable.',
  },
  flags: AugmentOptionsSchema,
  run: runAugment,
});
