/**
 * Reading the shadow records the worker writes while a candidate is named: one JSON object per
 * sampled request under `shadow/<yyyy-mm-dd>/`, holding both models' scores and verdicts (never
 * the texts). `summarize` turns them into what a team decides a promotion on.
 */
import { SHADOW_PREFIX, ShadowRecordSchema, type ShadowRecord } from '../../src/guard/manifest.ts';
import type { RegistryStore } from './store.ts';

/** Agreement of one candidate with one current version, over the records that compared them. */
export interface ShadowSummary {
  current: string;
  candidate: string;
  /** Requests, and the texts in them (a batch holds several). */
  requests: number;
  texts: number;
  /** Share of texts both models gave the same verdict. */
  agreement: number;
  /** Mean |candidate P(harmful) - current P(harmful)|. */
  meanAbsDiff: number;
  /** Texts current flagged and the candidate passed, and the reverse. */
  flaggedToPassed: number;
  passedToFlagged: number;
  /** First and last record time (ISO). */
  from: string;
  to: string;
}

/** What reading the records found: the records, and the keys that were not records. */
export interface ShadowRead {
  records: ShadowRecord[];
  skipped: string[];
}

/**
 * Reads the shadow records, `since` a day (yyyy-mm-dd) if given, eight at a time.
 * @example const { records } = await readShadowRecords(store, '2026-11-01')
 */
export async function readShadowRecords(store: RegistryStore, since?: string): Promise<ShadowRead> {
  const keys = (await store.list(SHADOW_PREFIX))
    .map((o) => o.key)
    .filter((key) => !since || key.slice(SHADOW_PREFIX.length, SHADOW_PREFIX.length + 10) >= since);
  const records: ShadowRecord[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async (key) => {
        const bytes = await store.get(key);
        let parsed: ReturnType<typeof ShadowRecordSchema.safeParse> | null = null;
        try {
          parsed = bytes ? ShadowRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes))) : null;
        } catch {
          parsed = null;
        }
        if (parsed?.success) records.push(parsed.data);
        else skipped.push(key);
      }),
    );
  }
  return { records, skipped };
}

/** One summary per (current, candidate) pair, the most compared first. */
export function summarize(records: ShadowRecord[]): ShadowSummary[] {
  const byPair = new Map<string, ShadowSummary & { diffSum: number; agreed: number }>();
  for (const record of records) {
    const pair = `${record.current.version}\u0000${record.candidate.version}`;
    let summary = byPair.get(pair);
    if (!summary) {
      summary = {
        current: record.current.version,
        candidate: record.candidate.version,
        requests: 0,
        texts: 0,
        agreement: 0,
        meanAbsDiff: 0,
        flaggedToPassed: 0,
        passedToFlagged: 0,
        from: record.at,
        to: record.at,
        diffSum: 0,
        agreed: 0,
      };
      byPair.set(pair, summary);
    }
    summary.requests++;
    if (record.at < summary.from) summary.from = record.at;
    if (record.at > summary.to) summary.to = record.at;
    for (const item of record.items) {
      summary.texts++;
      summary.diffSum += Math.abs(item.candidate.score - item.current.score);
      if (item.current.flagged === item.candidate.flagged) summary.agreed++;
      else if (item.current.flagged) summary.flaggedToPassed++;
      else summary.passedToFlagged++;
    }
  }
  return [...byPair.values()]
    .map(({ diffSum, agreed, ...summary }) => ({
      ...summary,
      agreement: summary.texts ? agreed / summary.texts : 0,
      meanAbsDiff: summary.texts ? diffSum / summary.texts : 0,
    }))
    .sort((a, b) => b.texts - a.texts);
}
