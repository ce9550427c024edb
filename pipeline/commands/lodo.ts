/**
 * `lodo`: leave-one-dataset-out evaluation of a recipe. Trains one model per fold without the
 * fold's sets, exports it, scores the held-out sets through onnxruntime-web, and writes the table
 * (lodo.md, lodo.json) with the headline figures the quality targets are stated on.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { quietFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { hardLabel } from '../data/schema.ts';
import { evaluate } from '../eval/evaluate.ts';
import { DEFAULT_FOLDS, lodoMarkdown, lodoRecord, summarize, type LodoRow } from '../eval/lodo.ts';
import { ALPACA, categoryFigures, categorySummary, chooseCategoryThresholds, chooseHeldOutThreshold, isHeldOutRule, kindSummary, type HeldOutRow } from '../eval/heldout.ts';
import { appendFile } from 'node:fs/promises';
import { recordMetrics } from '../eval/record.ts';
import { createScorer } from '../eval/scorer.ts';
import { readModelFolder } from '../model-folder.ts';
import { exportModel } from '../onnx/export.ts';
import { resolveDistillConfig } from '../train/config.ts';
import { runDistill } from '../train/distill.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { CLIError } from '../errors.ts';

const Flags = z.object({
  config: z.string().optional().describe('distill recipe (JSON) to evaluate; its holdout is replaced per fold'),
  out: z.string().min(1).describe('folder for fold runs, lodo.md and lodo.json'),
  folds: z.string().optional().describe('JSON file with an array of folds (arrays of source names); default: the built-in five'),
  only: z.string().regex(/^\d+(,\d+)*$/, 'comma-separated fold numbers').optional().describe('run only these folds (1-based, comma-separated)'),
  record: z.string().optional().describe('model folder whose manifest records the table (metrics.lodo), e.g. the model this recipe shipped'),
  thresholdRule: z
    .string()
    .refine(isHeldOutRule, 'must be "heldout-f1", "heldout-recall:<rate>", "heldout-fpr:<rate>" or "fixed:<value>"')
    .default('heldout-f1')
    .describe('how the operating point is chosen on the held-out rows: heldout-f1, heldout-recall:<rate>, heldout-fpr:<rate> (alpaca-eval), or fixed:<value>'),
  quiet: quietFlag(),
});

export default defineFlagCommand({
  meta: { name: 'lodo', description: 'Leave-one-dataset-out evaluation: one training per fold, held-out sets scored by a model that never saw them.' },
  flags: Flags,
  async run(flags) {
    let folds = DEFAULT_FOLDS;
    if (flags.folds) {
      const parsed = z.array(z.array(z.string()).min(1)).min(1).safeParse(JSON.parse(await readFile(flags.folds, 'utf8').catch(() => 'null')));
      if (!parsed.success) throw new CLIError(`${flags.folds}: not a JSON array of folds (arrays of source names)`);
      folds = parsed.data;
    }
    const chosen = flags.only ? flags.only.split(',').map(Number) : folds.map((_, i) => i + 1);
    for (const n of chosen) if (!folds[n - 1]) throw new CLIError(`--only: there is no fold ${n} (1..${folds.length})`);
    await mkdir(flags.out, { recursive: true });
    const rows: LodoRow[] = [];
    const alpaca: (number | null)[] = [];
    const heldOut: HeldOutRow[] = [];
    let labels: string[] = [];
    const scoresFile = join(flags.out, 'lodo-scores.jsonl');
    await writeFile(scoresFile, '');
    for (const n of chosen) {
      const holdout = folds[n - 1]!;
      const config = await resolveDistillConfig(flags.config, { holdout });
      const dir = join(flags.out, `fold-${n}`);
      const outcome = await runDistill(config, dir, flags.quiet);
      const { meta, weights } = await loadCheckpoint(outcome.checkpointDir);
      const { manifest } = await exportModel(meta, weights, { out: join(dir, 'model'), version: `lodo-fold-${n}`, quantization: 'int8-rows', maxDelta: 1, probes: [] });
      const { bytes } = await readModelFolder(join(dir, 'model'));
      const scorer = await createScorer(bytes, manifest);
      const { result, labelScores } = await evaluate(scorer, manifest, outcome.test, { reference: ALPACA, quiet: flags.quiet });
      labels = manifest.labels;
      for (const source of holdout) {
        const m = result.sources[source];
        if (m) rows.push({ ...m, source, fold: n, curve: [], histogram: m.histogram });
      }
      alpaca.push(result.sources[ALPACA]?.fpr ?? null);
      // every row of the fold's held-out sets and of the eval-only sets no fold holds out (alpaca-eval),
      // with all its scores: the ground the operating point is chosen on. A set that is eval-only
      // for the recipe but held out by some fold counts in that fold only.
      const folded = new Set(folds.flat());
      const scored: HeldOutRow[] = outcome.test.filter((ex) => holdout.includes(ex.source) || !folded.has(ex.source)).map((ex) => ({
        id: ex.id,
        source: ex.source,
        fold: n,
        kind: ex.kind,
        label: hardLabel(ex.label, ex.score),
        categories: ex.categories,
        scores: Array.from(labelScores.get(ex.id)!, (x) => Math.round(x * 1e5) / 1e5),
      }));
      heldOut.push(...scored);
      await appendFile(scoresFile, scored.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const summary = summarize(rows, alpaca);
      await writeFile(join(flags.out, 'lodo.json'), `${JSON.stringify({ folds, summary, alpacaFprPerFold: alpaca, rows }, null, 2)}\n`);
      await writeFile(join(flags.out, 'lodo.md'), lodoMarkdown(rows, summary, alpaca));
      if (!flags.quiet) process.stderr.write(`fold ${n} done: ${JSON.stringify(summary)}\n`);
    }
    const summary = summarize(rows, alpaca);
    const threshold = chooseHeldOutThreshold(flags.thresholdRule, heldOut);
    const operatingPoint = { rule: flags.thresholdRule, threshold, categoryThresholds: chooseCategoryThresholds(heldOut, labels), ...kindSummary(heldOut, threshold) };
    if (!flags.quiet) process.stderr.write(`operating point on held-out rows: ${JSON.stringify(operatingPoint)}\n`);
    const figures = categoryFigures(heldOut, labels);
    const categories = categorySummary(figures);
    const report = { folds, summary, alpacaFprPerFold: alpaca, rows, operatingPoint, categories, categoryFigures: figures };
    await writeFile(join(flags.out, 'lodo.json'), `${JSON.stringify(report, null, 2)}\n`);
    const markdown = lodoMarkdown(rows, summary, alpaca, { operatingPoint, categories, figures });
    await writeFile(join(flags.out, 'lodo.md'), markdown);
    if (flags.record) await recordMetrics(flags.record, 'lodo', lodoRecord(folds, summary, alpaca, rows, { operatingPoint, categories, figures }));
    console.log(markdown);
  },
});
