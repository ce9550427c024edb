/**
 * `shadow-report`: how the shadow candidate compares with the current model on live traffic,
 * from the records the worker writes while a candidate is named (`promote <v> --candidate`):
 * agreement rate, mean |score difference|, and verdict flips in each direction.
 */
import { z } from 'zod';
import { defineFlagCommand } from '../flag-command.ts';
import { formatDate } from '../registry/format.ts';
import { readShadowRecords, summarize } from '../registry/shadow.ts';
import { TargetFlags, withStore } from '../registry/target.ts';

const Flags = z
  .object({
    since: z
      .string()
      .regex(/^\d{4}-\d\d-\d\d$/, 'a day, yyyy-mm-dd')
      .optional()
      .describe('only records from this day on (yyyy-mm-dd)'),
    json: z.boolean().default(false).describe('print JSON instead of text'),
  })
  .extend(TargetFlags.shape);

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

export default defineFlagCommand({
  meta: {
    name: 'shadow-report',
    description: 'Compare the shadow candidate with the current model: agreement, mean |score difference|, flips.',
  },
  flags: Flags,
  async run(flags) {
    await withStore(flags, async (store) => {
      const { records, skipped } = await readShadowRecords(store, flags.since);
      const summaries = summarize(records);
      if (flags.json) {
        console.log(JSON.stringify({ where: store.where, records: records.length, skipped, comparisons: summaries }, null, 2));
        return;
      }
      if (summaries.length === 0)
        console.log(
          `no shadow records in ${store.where}${flags.since ? ` since ${flags.since}` : ''}: name a candidate with \`promote <version> --candidate\``,
        );
      for (const s of summaries) {
        console.log(
          `candidate ${s.candidate} vs current ${s.current}: ${s.texts} texts in ${s.requests} requests, ${formatDate(s.from)} .. ${formatDate(s.to)}`,
        );
        console.log(
          `  agreement ${percent(s.agreement)}, mean |score difference| ${s.meanAbsDiff.toFixed(4)}, flips: ${s.flaggedToPassed} flagged -> passed, ${s.passedToFlagged} passed -> flagged`,
        );
      }
      if (skipped.length)
        console.error(`edgeguard: warning: ${skipped.length} objects under shadow/ are not shadow records (first: ${skipped[0]})`);
    });
  },
});
