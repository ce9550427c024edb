/**
 * `feedback pull`: the teacher's verdicts the worker kept (R2 `feedback/`, local or remote) ->
 * `<out>/feedback.jsonl`, rows `distill` trains on as teacher soft labels (see rows.ts), with
 * `config.json`, `summary.json` and `log.txt` beside it. Pulling again rewrites the file from
 * what the bucket holds then, so it is safe to repeat.
 */
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { numberFlag, quietFlag } from '../args.ts';
import { CLIError } from '../errors.ts';
import { HARD_SCORE } from '../llm/teachers/workers-ai.ts';
import { TargetFlags, withStore } from '../registry/target.ts';
import { openStageFolder } from '../run-folder.ts';
import { readFeedbackRecords } from './read.ts';
import { feedbackRows, type FeedbackRowsSummary } from './rows.ts';

const Day = z.string().regex(/^\d{4}-\d\d-\d\d$/, 'a day, yyyy-mm-dd');

/** The days a command reads, shared by `pull` and `stats`. */
export const DayRangeFlags = z.object({
  since: Day.optional().describe('only records from this day on (yyyy-mm-dd)'),
  until: Day.optional().describe('only records up to this day (yyyy-mm-dd)'),
});

/** Options of `feedback pull`. */
export const PullOptionsSchema = z
  .object({
    out: z.string().min(1, 'is required').describe('folder to write feedback.jsonl, summary.json, config.json'),
    hardScore: z
      .union([z.literal('none').transform(() => null), numberFlag(0.5, 1)])
      .default(HARD_SCORE)
      .describe("score of an unsafe verdict without a probability (Workers AI; safe: 1 - it), or 'none' for label-only rows"),
    quiet: quietFlag(),
  })
  .extend(DayRangeFlags.shape)
  .extend(TargetFlags.shape);
export type PullOptions = z.infer<typeof PullOptionsSchema>;

/**
 * Pulls the records into training rows.
 * @throws CLIError when the bucket holds no feedback record in the range (nothing to train on)
 */
export async function runFeedbackPull(options: PullOptions): Promise<FeedbackRowsSummary> {
  const { records, skipped, where } = await withStore(options, async (store) => ({
    ...(await readFeedbackRecords(store, options)),
    where: store.where,
  }));
  const range = `${options.since ? ` since ${options.since}` : ''}${options.until ? ` until ${options.until}` : ''}`;
  if (records.length === 0) {
    throw new CLIError(
      `no feedback records in ${where}${range}: the worker writes them when FEEDBACK_SAMPLE_RATE is above 0 and a text is escalated`,
    );
  }
  const folder = await openStageFolder(options.out, 'feedback-pull', { ...options }, { quiet: options.quiet });
  const { rows, summary } = feedbackRows(records, { hardScore: options.hardScore });
  await writeFile(folder.path('feedback.jsonl'), rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  await folder.writeSummary({ where, since: options.since ?? null, until: options.until ?? null, ...summary, notRecords: skipped.length });
  await folder.log(
    `${summary.rows} rows (${summary.unsafe} unsafe) from ${summary.items} escalated texts in ${summary.records} records in ${where}${range}; ` +
      `left out: ${summary.withoutText} stored as hashes only, ${summary.teacherFailed} without a teacher verdict, ${summary.repeated} judged again later`,
  );
  if (skipped.length)
    await folder.log(`warning: ${skipped.length} objects under feedback/ are not feedback records (first: ${skipped[0]})`);
  return summary;
}
