/**
 * The `compare` command's work: score the same texts with two model folders, each through its own
 * manifest's featurizer and thresholds as the worker scores them, and say per source how far the
 * scores move and how many texts would be decided differently. What a release that should change
 * nothing (a new graph, a new serving setting) is checked with before it ships.
 */
import { z } from 'zod';
import type { Manifest } from '../../src/guard/manifest.ts';
import { applyPolicy } from '../../src/guard/policy.ts';
import { intFlag, listFlag, quietFlag } from '../args.ts';
import { CLIError } from '../errors.ts';
import { prepare } from '../data/prepare.ts';
import { readModelFolder } from '../model-folder.ts';
import { createScorer } from './scorer.ts';

/** Options of `compare`. */
export const CompareOptionsSchema = z.object({
  model: z.string().min(1).describe('model folder (model.onnx + manifest.json)'),
  against: z.string().min(1).describe('model folder to compare it with'),
  data: listFlag().default(['../shared/data']).describe('comma-separated data files/folders'),
  sources: listFlag().optional().describe('only these sources (comma-separated)'),
  limit: intFlag(1, 1_000_000).default(1500).describe('texts per source at most (its first ones)'),
  quiet: quietFlag(),
});
export type CompareOptions = z.infer<typeof CompareOptionsSchema>;

/** How two models' scores of one source's texts differ. */
export interface SourceComparison {
  texts: number;
  /** Largest |a - b| over every label of every text. */
  maxDelta: number;
  /** Texts each model flags on any label, at its own thresholds. */
  flagged: [model: number, against: number];
  /** Texts whose decision on some label differs. */
  decisionsDiffer: number;
}

/** Each label's threshold under a manifest's own policy, in label order. */
function thresholdsOf(manifest: Manifest): number[] {
  const policy = applyPolicy(manifest, null);
  return manifest.labels.map((label, i) => (i === 0 ? policy.threshold : policy.categoryThresholds[label]!));
}

/**
 * Scores the texts of each source with both models and prints a line per source and the totals.
 * @throws CLIError when a model folder is missing or malformed, the two have other labels, or a
 *   named source (or the data) has no texts
 * @example await runCompareStage({ model: 'model', against: '/tmp/2.0.1', data: ['../shared/data'], limit: 1500, quiet: true })
 */
export async function runCompareStage(options: CompareOptions): Promise<Record<string, SourceComparison>> {
  const [a, b] = [await readModelFolder(options.model), await readModelFolder(options.against)];
  if (a.manifest.labels.join() !== b.manifest.labels.join()) {
    throw new CLIError(`${options.model} and ${options.against} have other labels: [${a.manifest.labels}] against [${b.manifest.labels}]`);
  }
  const [scoreA, scoreB] = [await createScorer(a.bytes, a.manifest), await createScorer(b.bytes, b.manifest)];
  const [limitsA, limitsB] = [thresholdsOf(a.manifest), thresholdsOf(b.manifest)];
  const { examples } = await prepare({ inputs: options.data, nearDuplicate: 1, refusalPairs: 0, seed: 0 });
  const bySource = new Map<string, { prompt: string; response: string | null }[]>();
  for (const ex of examples) {
    if (options.sources && !options.sources.includes(ex.source)) continue;
    const items = bySource.get(ex.source) ?? [];
    if (items.length < options.limit) items.push({ prompt: ex.prompt, response: ex.response });
    bySource.set(ex.source, items);
  }
  const missing = (options.sources ?? []).filter((source) => !bySource.has(source));
  if (missing.length > 0) throw new CLIError(`no texts of ${missing.join(', ')} in ${options.data.join(', ')}`);
  if (bySource.size === 0) throw new CLIError(`no texts in ${options.data.join(', ')}`);
  const result: Record<string, SourceComparison> = {};
  for (const [source, items] of bySource) {
    const [x, y] = [await scoreA.score(items), await scoreB.score(items)];
    const row: SourceComparison = { texts: items.length, maxDelta: 0, flagged: [0, 0], decisionsDiffer: 0 };
    x.forEach((scores, i) => {
      let [flagA, flagB, differ] = [false, false, false];
      scores.forEach((score, l) => {
        const other = y[i]![l]!;
        row.maxDelta = Math.max(row.maxDelta, Math.abs(score - other));
        const [onA, onB] = [score >= limitsA[l]!, other >= limitsB[l]!];
        flagA ||= onA;
        flagB ||= onB;
        differ ||= onA !== onB;
      });
      row.flagged[0] += flagA ? 1 : 0;
      row.flagged[1] += flagB ? 1 : 0;
      row.decisionsDiffer += differ ? 1 : 0;
    });
    result[source] = row;
    if (!options.quiet) console.error(`${source}: ${items.length} texts`);
  }
  const { model, against } = { model: a.manifest.version, against: b.manifest.version };
  console.log(`${'source'.padEnd(40)}  texts  max |Δ|   flagged ${model} / ${against}   decisions that differ`);
  for (const [source, row] of Object.entries(result)) {
    console.log(
      `${source.padEnd(40)} ${String(row.texts).padStart(6)}  ${row.maxDelta.toExponential(1).padStart(7)}   ${`${row.flagged[0]} / ${row.flagged[1]}`.padStart(11)}   ${row.decisionsDiffer}`,
    );
  }
  const rows = Object.values(result);
  const total = (pick: (row: SourceComparison) => number) => rows.reduce((sum, row) => sum + pick(row), 0);
  console.log(
    `${total((r) => r.texts)} texts of ${rows.length} sources: max |Δ| ${Math.max(0, ...rows.map((r) => r.maxDelta)).toExponential(1)}, flagged ${total((r) => r.flagged[0])} / ${total((r) => r.flagged[1])}, decisions that differ ${total((r) => r.decisionsDiffer)}`,
  );
  return result;
}
