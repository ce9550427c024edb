/**
 * `feedback pull|stats`: the teacher's verdicts the worker's cascade kept in R2 (`feedback/`,
 * local or remote, as the registry commands reach it): as training rows for `distill`, or as
 * figures (the share of traffic escalated, agreement, teacher latency).
 */
import { defineCommand } from 'citty';
import { z } from 'zod';
import { PullOptionsSchema, DayRangeFlags, runFeedbackPull } from '../feedback/pull.ts';
import { readFeedbackRecords } from '../feedback/read.ts';
import { feedbackStats } from '../feedback/stats.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { formatDate } from '../registry/format.ts';
import { TargetFlags, withStore } from '../registry/target.ts';

const pull = defineFlagCommand({
  meta: { name: 'pull', description: "Turn the worker's feedback records into teacher-labelled rows (<out>/feedback.jsonl) for distill." },
  flags: PullOptionsSchema,
  async run(flags) {
    await runFeedbackPull(flags);
  },
});

const percent = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

const stats = defineFlagCommand({
  meta: {
    name: 'stats',
    description: 'Show what the feedback records say: share of traffic escalated, teacher answers and agreement, teacher latency.',
  },
  flags: z
    .object({ json: z.boolean().default(false).describe('print JSON instead of text') })
    .extend(DayRangeFlags.shape)
    .extend(TargetFlags.shape),
  async run(flags) {
    await withStore(flags, async (store) => {
      const { records, skipped } = await readFeedbackRecords(store, flags);
      const s = feedbackStats(records);
      if (flags.json) {
        console.log(JSON.stringify({ where: store.where, ...s, notRecords: skipped.length }, null, 2));
        return;
      }
      if (s.records === 0) {
        console.log(
          `no feedback records in ${store.where}: the worker writes them when FEEDBACK_SAMPLE_RATE is above 0 and a text is escalated`,
        );
        return;
      }
      const { traffic, failed, latencyMs } = s;
      console.log(
        `feedback in ${store.where}: ${s.records} records, ${s.items} escalated texts, ${formatDate(s.from!)} .. ${formatDate(s.to!)}`,
      );
      console.log(
        `  band ${s.bands.map(({ band, records }) => `[${band[0]}, ${band[1]})${s.bands.length > 1 ? ` (${records} records)` : ''}`).join(', ')}: ${traffic.escalated} of ${traffic.texts} texts escalated (${percent(traffic.share)}) in ${traffic.requests} requests`,
      );
      console.log(
        `  teacher ${s.teachers.map((t) => `${t.kind} ${t.model}`).join(', ')}: ${s.answered} answered (${s.unsafe} unsafe), ${failed.timeout + failed.unavailable + failed.malformed} failed (${failed.timeout} timeouts, ${failed.unavailable} unavailable, ${failed.malformed} malformed)`,
      );
      console.log(
        `  agreement with the student ${percent(s.agreement)}: the teacher flagged ${s.teacherFlagged} the student passed, cleared ${s.teacherCleared} it flagged`,
      );
      if (latencyMs)
        console.log(`  teacher latency p50 ${latencyMs.p50} ms, p90 ${latencyMs.p90} ms, p99 ${latencyMs.p99} ms, max ${latencyMs.max} ms`);
      console.log(`  texts stored: ${s.withText} of ${s.items}${s.withText < s.items ? ' (the rest as hashes only)' : ''}`);
      if (skipped.length)
        console.error(`edgeguard: warning: ${skipped.length} objects under feedback/ are not feedback records (first: ${skipped[0]})`);
    });
  },
});

export default defineCommand({
  meta: { name: 'feedback', description: "The teacher's verdicts the cascade keeps in R2: training rows (pull) and figures (stats)." },
  subCommands: { pull, stats },
});
