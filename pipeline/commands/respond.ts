/**
 * `respond`: answer every instruction twice (complying and refusing) with a second LLM, producing
 * the prompt+response pairs the teacher will score. The work is in harmaug/respond.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { RespondOptionsSchema, runRespond } from '../harmaug/respond.ts';

export default defineFlagCommand({
  meta: {
    name: 'respond',
    description:
      'Answer each instruction once complying and once refusing; appends <id>:comply / <id>:refuse pairs to <out>/responses.jsonl, resumable.',
  },
  flags: RespondOptionsSchema,
  run: runRespond,
});
