/**
 * `lodo`: leave-one-dataset-out evaluation of a recipe. Trains one model per fold without the
 * fold's sets, exports it, scores the held-out sets through onnxruntime-web, and writes the table
 * (lodo.md, lodo.json, every held-out row's scores in lodo-scores.jsonl) with the headline
 * figures the quality targets are stated on and the operating point chosen on the held-out rows.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { quietFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { DEFAULT_FOLDS, lodoMarkdown, lodoRecord, summarize, type LodoRow } from '../eval/lodo.ts';
import { previousFold, runFold } from '../run/lodo-fold.ts';
import {
  categoryFigures,
  categorySummary,
  chooseCategoryThresholds,
  chooseHeldOutThreshold,
  isHeldOutRule,
  kindSummary,
  type HeldOutRow,
} from '../eval/heldout.ts';
import { appendFile } from 'node:fs/promises';
import { recordMetrics } from '../eval/record.ts';
import { resolveDistillConfig } from '../train/config.ts';
import { CLIError } from '../errors.ts';

const Flags = z.object({
  config: z.string().optional().describe('distill recipe (JSON) to evaluate; its holdout is replaced per fold'),
  out: z.string().min(1).describe('folder for fold runs, lodo.md and lodo.json'),
  folds: z.string().optional().describe('JSON file with an array of folds (arrays of source names); default: the built-in five'),
  only: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated fold numbers')
    .optional()
    .describe('run only these folds (1-based, comma-separated)'),
  record: z
    .string()
    .optional()
    .describe('model folder whose manifest records the table (metrics.lodo), e.g. the model this recipe shipped'),
  thresholdRule: z
    .string()
    .refine(isHeldOutRule, 'must be "heldout-f1", "heldout-recall:<rate>", "heldout-fpr:<rate>" or "fixed:<value>"')
    .default('heldout-f1')
    .describe(
      'how the operating point is chosen on the held-out rows: heldout-f1, heldout-recall:<rate>, heldout-fpr:<rate> (alpaca-eval), or fixed:<value>',
    ),
  resume: z
    .boolean()
    .default(false)
    .describe('reuse the folds an earlier run of the same recipe left in --out (fold-<n>/heldout.json) instead of training them again'),
  quiet: quietFlag(),
});

export default defineFlagCommand({
  meta: {
    name: 'lodo',
    description: 'Leave-one-dataset-out evaluation: one training per fold, held-out sets scored by a model that never saw them.',
  },
  flags: Flags,
  async run(flags) {
    let folds = DEFAULT_FOLDS;
    if (flags.folds) {
      const parsed = z
        .array(z.array(z.string()).min(1))
        .min(1)
        .safeParse(JSON.parse(await readFile(flags.folds, 'utf8').catch(() => 'null')));
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
    const allFolded = new Set(folds.flat());
    for (const n of chosen) {
      const holdout = folds[n - 1]!;
      const config = await resolveDistillConfig(flags.config, { holdout });
      const dir = join(flags.out, `fold-${n}`);
      const reused = flags.resume ? await previousFold(dir, config) : null;
      if (reused && !flags.quiet) process.stderr.write(`fold ${n}: reusing ${dir}\n`);
      const fold = reused ?? (await runFold(config, n, holdout, allFolded, dir, flags.quiet));
      labels = fold.labels;
      rows.push(...fold.rows);
      alpaca.push(fold.alpacaFpr);
      heldOut.push(...fold.scored);
      await appendFile(scoresFile, fold.scored.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const summary = summarize(rows, alpaca);
      await writeFile(join(flags.out, 'lodo.json'), `${JSON.stringify({ folds, summary, alpacaFprPerFold: alpaca, rows }, null, 2)}\n`);
      await writeFile(join(flags.out, 'lodo.md'), lodoMarkdown(rows, summary, alpaca));
      if (!flags.quiet) process.stderr.write(`fold ${n} done: ${JSON.stringify(summary)}\n`);
    }
    const summary = summarize(rows, alpaca);
    // the operating point as the worker decides: P(harmful), or a category the recipe reports
    const reported = (await resolveDistillConfig(flags.config, {})).reportedCategories;
    const categoryThresholds = chooseCategoryThresholds(heldOut, labels, reported);
    const threshold = chooseHeldOutThreshold(flags.thresholdRule, heldOut, categoryThresholds, labels);
    const operatingPoint = {
      rule: flags.thresholdRule,
      threshold,
      categoryThresholds,
      ...kindSummary(heldOut, { threshold, categoryThresholds }, labels),
    };
    if (!flags.quiet) process.stderr.write(`operating point on held-out rows: ${JSON.stringify(operatingPoint)}\n`);
    const figures = categoryFigures(heldOut, labels);
    const categories = categorySummary(figures);
    const report = { folds, summary, alpacaFprPerFold: alpaca, rows, operatingPoint, categories, categoryFigures: figures };
    await writeFile(join(flags.out, 'lodo.json'), `${JSON.stringify(report, null, 2)}\n`);
    const markdown = lodoMarkdown(rows, summary, alpaca, { operatingPoint, categories, figures });
    await writeFile(join(flags.out, 'lodo.md'), markdown);
    if (flags.record)
      await recordMetrics(flags.record, 'lodo', lodoRecord(folds, summary, alpaca, rows, { operatingPoint, categories, figures }));
    console.log(markdown);
  },
});
