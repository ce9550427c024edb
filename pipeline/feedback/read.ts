/**
 * Reading the feedback records the worker writes while its cascade runs with
 * FEEDBACK_SAMPLE_RATE above 0: one JSON object per sampled request under
 * `feedback/<yyyy-mm-dd>/`, holding the escalated texts (or their hashes), the student's score
 * and verdict, and the teacher's. From the local R2 of `wrangler dev` or Cloudflare R2, as the
 * registry commands reach them.
 */
import { FEEDBACK_PREFIX, FeedbackRecordSchema, type FeedbackRecord } from '../../src/guard/manifest.ts';
import type { RegistryStore } from '../registry/store.ts';

/** What reading found: the records, oldest first, and the keys under feedback/ that were not records. */
export interface FeedbackRead {
  records: FeedbackRecord[];
  skipped: string[];
}

/** The day (yyyy-mm-dd) a record's key names. */
const dayOf = (key: string) => key.slice(FEEDBACK_PREFIX.length, FEEDBACK_PREFIX.length + 10);

/**
 * Reads the feedback records from `since` to `until` (days, yyyy-mm-dd, both included), eight
 * at a time.
 * @example const { records } = await readFeedbackRecords(store, { since: '2026-11-01' })
 */
export async function readFeedbackRecords(store: RegistryStore, range: { since?: string; until?: string } = {}): Promise<FeedbackRead> {
  const keys = (await store.list(FEEDBACK_PREFIX))
    .map((o) => o.key)
    .filter((key) => (!range.since || dayOf(key) >= range.since) && (!range.until || dayOf(key) <= range.until));
  const found = new Map<string, FeedbackRecord>();
  const skipped: string[] = [];
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async (key) => {
        const bytes = await store.get(key);
        let parsed: ReturnType<typeof FeedbackRecordSchema.safeParse> | null = null;
        try {
          parsed = bytes ? FeedbackRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes))) : null;
        } catch {
          parsed = null;
        }
        if (parsed?.success) found.set(key, parsed.data);
        else skipped.push(key);
      }),
    );
  }
  // keys sort by time (feedback/<day>/<time>-<id>.json), so this is the order they were written
  const records = [...found.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, record]) => record);
  return { records, skipped: skipped.sort() };
}
