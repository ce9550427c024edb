/**
 * `compare`: score the same texts with two model folders as the worker does and print, per
 * source, the largest score change and how many decisions differ. The work is in
 * eval/compare-stage.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { CompareOptionsSchema, runCompareStage } from '../eval/compare-stage.ts';

export default defineFlagCommand({
  meta: {
    name: 'compare',
    description: 'Score the same texts with two models as the worker does; per source, score changes and decisions that differ.',
  },
  flags: CompareOptionsSchema,
  run: runCompareStage,
});
