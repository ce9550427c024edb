/**
 * What the feedback records say about the cascade on live traffic: how much of it the band sent
 * to the teacher, how often the teacher answered and agreed with the student, and how long it
 * took. `feedback stats` prints it; `--json` gives it to scripts.
 */
import type { FeedbackRecord } from '../../src/guard/manifest.ts';

/** The cascade as the records saw it. */
export interface FeedbackStats {
  records: number;
  /** Escalated texts the records hold (a sampled share of all escalations). */
  items: number;
  /** First and last record time (ISO); null without records. */
  from: string | null;
  to: string | null;
  /** The bands the records name, most used first: a band changed mid-way shows as two. */
  bands: { band: [number, number]; records: number }[];
  /** What the writing isolates scored with a teacher configured, over the time the records cover. */
  traffic: { requests: number; texts: number; escalated: number; share: number | null };
  /** The teacher's answers, and the calls that gave none, by reason. */
  answered: number;
  unsafe: number;
  failed: { timeout: number; unavailable: number; malformed: number };
  /**
   * Among answered texts: the share where the student's verdict (at its threshold) was the
   * teacher's; the teacher flagging what the student passed, and clearing what it flagged.
   */
  agreement: number | null;
  teacherFlagged: number;
  teacherCleared: number;
  /** Teacher latency over every call, answered or failed (ms). */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  /** Texts stored in full; the rest are hashes only. */
  withText: number;
  teachers: { kind: string; model: string; items: number }[];
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/**
 * @example const stats = feedbackStats(records); stats.traffic.share // 0.042
 */
export function feedbackStats(records: FeedbackRecord[]): FeedbackStats {
  const bands = new Map<string, { band: [number, number]; records: number }>();
  const teachers = new Map<string, { kind: string; model: string; items: number }>();
  const traffic = { requests: 0, texts: 0, escalated: 0 };
  const failed = { timeout: 0, unavailable: 0, malformed: 0 };
  const latencies: number[] = [];
  let items = 0;
  let answered = 0;
  let unsafe = 0;
  let agreed = 0;
  let teacherFlagged = 0;
  let teacherCleared = 0;
  let withText = 0;
  for (const record of records) {
    const bandKey = record.band.join(',');
    bands.set(bandKey, { band: record.band, records: (bands.get(bandKey)?.records ?? 0) + 1 });
    const teacherKey = `${record.teacher.kind}\u0000${record.teacher.model}`;
    teachers.set(teacherKey, { ...record.teacher, items: (teachers.get(teacherKey)?.items ?? 0) + record.items.length });
    traffic.requests += record.traffic.requests;
    traffic.texts += record.traffic.texts;
    traffic.escalated += record.traffic.escalated;
    for (const item of record.items) {
      items++;
      if (item.prompt !== undefined) withText++;
      latencies.push(item.teacher.latencyMs);
      if ('error' in item.teacher) {
        failed[item.teacher.error]++;
        continue;
      }
      answered++;
      if (item.teacher.unsafe) unsafe++;
      if (item.teacher.unsafe === item.student.flagged) agreed++;
      else if (item.teacher.unsafe) teacherFlagged++;
      else teacherCleared++;
    }
  }
  latencies.sort((a, b) => a - b);
  const times = records.map((r) => r.at).sort();
  return {
    records: records.length,
    items,
    from: times[0] ?? null,
    to: times.at(-1) ?? null,
    bands: [...bands.values()].sort((a, b) => b.records - a.records),
    traffic: { ...traffic, share: traffic.texts ? traffic.escalated / traffic.texts : null },
    answered,
    unsafe,
    failed,
    agreement: answered ? agreed / answered : null,
    teacherFlagged,
    teacherCleared,
    latencyMs: latencies.length
      ? { p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), max: latencies.at(-1)! }
      : null,
    withText,
    teachers: [...teachers.values()].sort((a, b) => b.items - a.items),
  };
}
