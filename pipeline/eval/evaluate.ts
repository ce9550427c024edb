/**
 * The evaluation engine: score every row of every source with the exported model (through
 * `createScorer`, i.e. the worker's featurizer and kernels), then compute per-source metrics at the
 * manifest's threshold. A source with only harmful rows is measured against a benign reference set
 * (by default alpaca-eval, never trained on), since AUPRC needs both classes.
 */
import type { Manifest } from '../../src/guard/manifest.ts';
import type { PreparedExample } from '../data/prepare.ts';
import { hardLabel } from '../data/schema.ts';
import { createProgress } from '../progress.ts';
import { averagePrecision, confusion, prCurve, rates } from './metrics.ts';
import type { Scorer } from './scorer.ts';

export interface SourceMetrics {
  rows: number;
  harmful: number;
  benign: number;
  seenInTraining: boolean;
  /** AUPRC of P(harmful); for a harmful-only source, against `reference`. */
  auprc: number | null;
  auprcAgainst: string | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  fpr: number | null;
  /** Precision-recall points (at most 40) and score histograms (20 bins) for charts. */
  curve: { threshold: number; precision: number; recall: number }[];
  histogram: { harmful: number[]; benign: number[] };
}

export interface EvalResult {
  model: string;
  threshold: number;
  examples: number;
  msPerExample: number;
  sources: Record<string, SourceMetrics>;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);

function histogram(scores: number[]): number[] {
  const bins = new Array<number>(20).fill(0);
  for (const s of scores) bins[Math.min(19, Math.floor(s * 20))]!++;
  return bins;
}

function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]!);
}

/**
 * Scores `examples` and measures every source.
 * @param reference benign source that harmful-only sources are measured against
 * @returns the per-source metrics, and each row's scores by id: P(harmful), and every label's
 */
export async function evaluate(
  scorer: Scorer,
  manifest: Manifest,
  examples: PreparedExample[],
  options: { threshold?: number; reference: string; quiet?: boolean; batch?: number },
): Promise<{ result: EvalResult; scores: Map<string, number>; labelScores: Map<string, Float32Array> }> {
  const threshold = options.threshold ?? manifest.threshold;
  const batch = options.batch ?? 64;
  const scores = new Map<string, number>();
  const labelScores = new Map<string, Float32Array>();
  const progress = createProgress('eval', examples.length, { quiet: options.quiet });
  const started = performance.now();
  for (let i = 0; i < examples.length; i += batch) {
    const chunk = examples.slice(i, i + batch);
    const out = await scorer.score(chunk.map((ex) => ({ prompt: ex.prompt, response: ex.response })));
    chunk.forEach((ex, j) => {
      scores.set(ex.id, out[j]![0]!);
      labelScores.set(ex.id, out[j]!);
    });
    progress.update(i + chunk.length);
  }
  const msPerExample = (performance.now() - started) / Math.max(1, examples.length);
  progress.finish();

  const bySource = new Map<string, PreparedExample[]>();
  for (const ex of examples) {
    const list = bySource.get(ex.source);
    if (list) list.push(ex);
    else bySource.set(ex.source, [ex]);
  }
  const reference = bySource.get(options.reference)?.filter((ex) => hardLabel(ex.label, ex.score) === 0) ?? [];
  const trained = new Set(manifest.dataSources.filter((s) => s.use === 'train').map((s) => s.name));
  const sources: Record<string, SourceMetrics> = {};
  for (const [name, rows] of [...bySource].sort(([a], [b]) => a.localeCompare(b))) {
    const s = rows.map((ex) => scores.get(ex.id)!);
    const y = rows.map((ex) => hardLabel(ex.label, ex.score));
    const harmful = y.filter((l) => l === 1).length;
    const benign = rows.length - harmful;
    const c = rates(confusion(s, y, threshold));
    // AUPRC needs both classes: a harmful-only set is ranked against the benign reference set
    const pooled = benign === 0 && reference.length > 0 && name !== options.reference;
    const aS = pooled ? [...s, ...reference.map((ex) => scores.get(ex.id)!)] : s;
    const aY = pooled ? [...y, ...reference.map(() => 0)] : y;
    sources[name] = {
      rows: rows.length,
      harmful,
      benign,
      seenInTraining: trained.has(name),
      auprc: harmful > 0 && (benign > 0 || pooled) ? round(averagePrecision(aS, aY)) : null,
      auprcAgainst: pooled ? options.reference : null,
      precision: round(c.precision),
      recall: round(c.recall),
      f1: round(c.f1),
      fpr: round(c.fpr),
      curve:
        harmful > 0 && (benign > 0 || pooled)
          ? thin(prCurve(aS, aY), 40).map((p) => ({
              threshold: round(p.threshold)!,
              precision: round(p.precision)!,
              recall: round(p.recall)!,
            }))
          : [],
      histogram: { harmful: histogram(s.filter((_, i) => y[i] === 1)), benign: histogram(s.filter((_, i) => y[i] === 0)) },
    };
  }
  return {
    result: {
      model: manifest.version,
      threshold,
      examples: examples.length,
      msPerExample: Math.round(msPerExample * 1000) / 1000,
      sources,
    },
    scores,
    labelScores,
  };
}
