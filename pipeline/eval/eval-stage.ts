/**
 * The `eval` stage as the `eval` command and `run` call it: score data with an exported model
 * through the worker's featurizer and onnxruntime-web kernels, and write per-source metrics
 * (metrics.json, report.md with SVG charts); with `updateManifest`, record them in the manifest.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { compactForManifest } from '../../src/report/eval-metrics.ts';
import { listFlag, numberFlag, quietFlag } from '../args.ts';
import { prepare } from '../data/prepare.ts';
import { readModelFolder } from '../model-folder.ts';
import { evaluate } from './evaluate.ts';
import { ALPACA } from './heldout.ts';
import { recordMetrics } from './record.ts';
import { writeReport } from './report.ts';
import { createScorer } from './scorer.ts';

/** Options of `eval`, from flags or a run config section. */
export const EvalOptionsSchema = z.object({
  model: z.string().min(1).describe('model folder (model.onnx + manifest.json)'),
  data: listFlag().default(['../shared/data']).describe('comma-separated data files/folders'),
  sources: listFlag().optional().describe('only these sources (comma-separated; the reference set is always kept)'),
  out: z.string().optional().describe('report folder (default <model>/eval)'),
  threshold: numberFlag(0, 1).optional().describe("decision threshold (default: the manifest's)"),
  reference: z.string().default(ALPACA).describe('benign source that harmful-only sources are ranked against'),
  updateManifest: z.boolean().default(false).describe("record the metrics in the model's manifest.json"),
  quiet: quietFlag(),
});
export type EvalOptions = z.infer<typeof EvalOptionsSchema>;

/** What `eval` reports (and `run` keeps in report.json). */
export interface EvalSummary {
  version: string;
  report: string;
  examples: number;
  msPerExample: number;
}

/**
 * Scores the data and writes the report; prints a line per source and one with the totals.
 * @throws CLIError when the model folder or a data file is missing or malformed
 * @example await runEvalStage({ model: 'runs/r1/model', data: ['../shared/data'], reference: 'alpaca-eval', updateManifest: false, quiet: true })
 */
export async function runEvalStage(options: EvalOptions): Promise<EvalSummary> {
  const { manifest, bytes } = await readModelFolder(options.model);
  const { examples } = await prepare({ inputs: options.data, nearDuplicate: 0.85, refusalPairs: 0, seed: 0 });
  const chosen = options.sources
    ? examples.filter((ex) => options.sources!.includes(ex.source) || ex.source === options.reference)
    : examples;
  const scorer = await createScorer(bytes, manifest);
  const { result } = await evaluate(scorer, manifest, chosen, {
    threshold: options.threshold,
    reference: options.reference,
    quiet: options.quiet,
  });
  const out = options.out ?? join(options.model, 'eval');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeReport(out, result, `Evaluation of ${manifest.version}`, manifest);
  if (options.updateManifest) {
    // Chart data stays, compact (issue 7): the worker's report page draws it from the manifest.
    const summary = Object.fromEntries(Object.entries(result.sources).map(([k, v]) => [k, compactForManifest(v)]));
    await recordMetrics(options.model, 'eval', { threshold: result.threshold, msPerExample: result.msPerExample, sources: summary });
  }
  for (const [name, m] of Object.entries(result.sources)) {
    console.log(
      `${name.padEnd(40)} ${String(m.rows).padStart(6)}  AUPRC ${m.auprc?.toFixed(3) ?? '  –  '}  recall ${m.recall?.toFixed(3) ?? '  –  '}  FPR ${m.fpr?.toFixed(3) ?? '  –  '}${m.seenInTraining ? '  (trained on)' : ''}`,
    );
  }
  console.log(`${result.examples} examples, ${result.msPerExample} ms/example; report: ${join(out, 'report.md')}`);
  return { version: manifest.version, report: join(out, 'report.md'), examples: result.examples, msPerExample: result.msPerExample };
}
