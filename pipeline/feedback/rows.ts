/**
 * Feedback records -> training rows: each escalated text the teacher judged becomes an Example
 * that `distill` trains on as it trains on `label`'s rows, 0.5 x CE on the teacher's verdict +
 * 0.5 x KL to its P(unsafe) (`score`). A teacher without a probability (Workers AI) gets the
 * smoothed target `label` gives it (`--hard-score`). Texts stored as hashes only, and calls that
 * failed, cannot train and are counted instead. A text escalated again keeps its latest verdict.
 */
import type { FeedbackRecord } from '../../src/guard/manifest.ts';
import { labelsOf, parseHazardCodes } from '../../src/teacher/hazards.ts';
import type { Example } from '../data/schema.ts';
import { hardTarget } from '../llm/teachers/workers-ai.ts';

/** The source name of feedback rows (the file's stem: `feedback.jsonl`), as `data` and `distill` report them. */
export const FEEDBACK_SOURCE = 'feedback';

/** What the conversion kept and why it dropped the rest. */
export interface FeedbackRowsSummary {
  records: number;
  /** Escalated texts in the records. */
  items: number;
  /** Rows written: one per distinct text the teacher judged. */
  rows: number;
  unsafe: number;
  /** Texts judged again later: the latest verdict is kept. */
  repeated: number;
  /** Stored as hashes only (FEEDBACK_STORE_TEXT "false"). */
  withoutText: number;
  /** The teacher gave no verdict (timeout, error, malformed answer). */
  teacherFailed: number;
}

/**
 * @param options.hardScore the score of an unsafe verdict without a probability (1 - it when
 *   safe), or null to leave such rows with the label only (default 0.95, as `label`)
 * @example const { rows } = feedbackRows(records, { hardScore: 0.95 })
 */
export function feedbackRows(
  records: FeedbackRecord[],
  options: { hardScore: number | null },
): { rows: Example[]; summary: FeedbackRowsSummary } {
  const byText = new Map<string, Example>();
  const summary: FeedbackRowsSummary = {
    records: records.length,
    items: 0,
    rows: 0,
    unsafe: 0,
    repeated: 0,
    withoutText: 0,
    teacherFailed: 0,
  };
  for (const record of records) {
    for (const item of record.items) {
      summary.items++;
      const { teacher } = item;
      if ('error' in teacher) {
        summary.teacherFailed++;
        continue;
      }
      if (item.prompt === undefined) {
        summary.withoutText++;
        continue;
      }
      const id = `feedback-${item.promptSha256.slice(0, 16)}${item.responseSha256 ? `-${item.responseSha256.slice(0, 16)}` : ''}`;
      if (byText.has(id)) summary.repeated++;
      const codes = parseHazardCodes(teacher.codes.join(','));
      byText.set(id, {
        id,
        prompt: item.prompt,
        response: item.response ?? null,
        label: teacher.unsafe ? 1 : 0,
        score: teacher.score ?? hardTarget(teacher.unsafe, options.hardScore),
        category: teacher.unsafe && codes.length ? `Llama Guard 3: ${codes.join(',')}` : null,
        categories: teacher.unsafe ? labelsOf(codes) : [],
        source: FEEDBACK_SOURCE,
      });
    }
  }
  const rows = [...byText.values()];
  summary.rows = rows.length;
  summary.unsafe = rows.filter((r) => r.label === 1).length;
  return { rows, summary };
}
