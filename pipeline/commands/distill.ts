/**
 * `distill`: prepare the data, split it, train the student on hard and soft labels (HarmAug's
 * loss), choose the threshold on the validation split, and write a checkpoint into the run folder.
 * The work is in train/distill-stage.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { DistillOptionsSchema, runDistillStage } from '../train/distill-stage.ts';

export default defineFlagCommand({
  meta: { name: 'distill', description: 'Train the student on labelled and teacher-scored data; writes a checkpoint to the run folder.' },
  flags: DistillOptionsSchema,
  run: runDistillStage,
});
