/**
 * The evaluation a manifest carries in `metrics.eval`, as `pipeline eval --update-manifest` writes
 * it: per-source metrics at the threshold and, for charts, precision-recall points and score
 * histograms. The manifest's own schema leaves `metrics` open; the report validates this part here,
 * at its edge, and draws only what is there.
 */
import { z } from 'zod';
import type { CurvePoint } from './charts.ts';

const Rate = z.number().min(0).max(1).nullable();
const Count = z.number().int().min(0);

const CurvePointSchema = z.object({ threshold: z.number(), precision: z.number(), recall: z.number() });
/** A manifest keeps points compact, as `[threshold, precision, recall]`; `metrics.json` as objects. */
const CompactPointSchema = z
  .tuple([z.number(), z.number(), z.number()])
  .transform(([threshold, precision, recall]): CurvePoint => ({ threshold, precision, recall }));

/** One source's metrics at the threshold, and its chart data where recorded. */
export const SourceMetricsSchema = z.object({
  rows: Count,
  harmful: Count,
  benign: Count,
  seenInTraining: z.boolean(),
  /** AUPRC of P(harmful); for a harmful-only source, ranked against `auprcAgainst`. */
  auprc: Rate,
  auprcAgainst: z.string().nullable(),
  precision: Rate,
  recall: Rate,
  f1: Rate,
  fpr: Rate,
  /** Precision-recall points for a chart; empty when absent or when the source has one class. */
  curve: z.array(z.union([CurvePointSchema, CompactPointSchema])).default([]),
  /** Examples per equal-width score bin, by class; null when absent. */
  histogram: z
    .object({ harmful: z.array(Count), benign: z.array(Count) })
    .nullable()
    .default(null),
});
export type SourceMetrics = z.infer<typeof SourceMetricsSchema>;

/**
 * `manifest.metrics.eval`: the metrics of every source at one threshold.
 * @example EvalMetricsSchema.parse(manifest.metrics.eval).sources.advbench.auprc // 0.988
 */
export const EvalMetricsSchema = z.object({
  /** The threshold the metrics were measured at. */
  threshold: z.number().min(0).max(1),
  msPerExample: z.number().min(0).optional(),
  sources: z.record(z.string(), SourceMetricsSchema),
});
export type EvalMetrics = z.infer<typeof EvalMetricsSchema>;

/** Most curve points a manifest keeps per source. */
export const MANIFEST_CURVE_POINTS = 20;

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * A source's metrics as a manifest records them: the curve thinned to MANIFEST_CURVE_POINTS
 * evenly spaced points (the first and last kept) as `[threshold, precision, recall]` rounded to 3
 * decimals; the histogram as it is.
 * @example compactForManifest(result.sources.advbench).curve // [[0.999, 1, 0.012], ...]
 */
export function compactForManifest<S extends { curve: CurvePoint[] }>(source: S): Omit<S, 'curve'> & { curve: [number, number, number][] } {
  const { curve } = source;
  const step = (curve.length - 1) / (MANIFEST_CURVE_POINTS - 1);
  const kept =
    curve.length <= MANIFEST_CURVE_POINTS ? curve : Array.from({ length: MANIFEST_CURVE_POINTS }, (_, i) => curve[Math.round(i * step)]!);
  return { ...source, curve: kept.map((p): [number, number, number] => [round3(p.threshold), round3(p.precision), round3(p.recall)]) };
}

/**
 * The evaluation in `manifest.metrics`, or why it cannot be read.
 * @returns `{ eval: null, problem: null }` when the manifest has none
 */
export function evalMetricsOf(metrics: Record<string, unknown>): { eval: EvalMetrics | null; problem: string | null } {
  if (metrics.eval === undefined) return { eval: null, problem: null };
  const parsed = EvalMetricsSchema.safeParse(metrics.eval);
  if (parsed.success) return { eval: parsed.data, problem: null };
  const issue = parsed.error.issues[0]!;
  return { eval: null, problem: `metrics.eval.${issue.path.map(String).join('.')}: ${issue.message}` };
}

/**
 * `manifest.metrics` without the chart data (curves, histograms): what an API listing needs; the
 * report page draws the rest. Anything it does not recognise passes through unchanged.
 * @example withoutChartData(manifest.metrics).eval.sources.advbench.curve // undefined
 */
export function withoutChartData(metrics: Record<string, unknown>): Record<string, unknown> {
  const ev = metrics.eval as { sources?: unknown } | undefined;
  if (!ev || typeof ev !== 'object' || !ev.sources || typeof ev.sources !== 'object') return metrics;
  const sources = Object.fromEntries(
    Object.entries(ev.sources as Record<string, unknown>).map(([name, source]) => {
      if (!source || typeof source !== 'object') return [name, source];
      const { curve: _curve, histogram: _histogram, ...rest } = source as Record<string, unknown>;
      return [name, rest];
    }),
  );
  return { ...metrics, eval: { ...ev, sources } };
}
