/**
 * `eval`: score data with an exported model through the worker's featurizer and onnxruntime-web
 * kernels, and report per-source metrics (metrics.json, report.md with SVG charts). With
 * `--update-manifest` the metrics are also recorded in the model's manifest.
 */
import { defineCommand } from 'citty';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { listFlag, numberFlag, parseArgs } from '../args.ts';
import { prepare } from '../data/prepare.ts';
import { evaluate } from '../eval/evaluate.ts';
import { recordMetrics } from '../eval/record.ts';
import { writeReport } from '../eval/report.ts';
import { createScorer } from '../eval/scorer.ts';
import { readModelFolder } from '../model-folder.ts';
import { compactForManifest } from '../../src/report/eval-metrics.ts';

const Flags = z.object({
  model: z.string().min(1),
  data: listFlag().default(['../shared/data']),
  sources: listFlag().optional(),
  out: z.string().optional(),
  threshold: numberFlag(0, 1).optional(),
  reference: z.string().default('alpaca-eval'),
  updateManifest: z.boolean().default(false),
  quiet: z.boolean().default(false),
});

export default defineCommand({
  meta: { name: 'eval', description: 'Score data with an exported model as the worker does; per-source AUPRC, F1, FPR, latency.' },
  args: {
    model: { type: 'string', required: true, description: 'model folder (model.onnx + manifest.json)' },
    data: { type: 'string', description: 'comma-separated data files/folders (default ../shared/data)' },
    sources: { type: 'string', description: 'only these sources (comma-separated; the reference set is always kept)' },
    out: { type: 'string', description: 'report folder (default <model>/eval)' },
    threshold: { type: 'string', description: 'decision threshold (default: the manifest\'s)' },
    reference: { type: 'string', description: 'benign source that harmful-only sources are ranked against (default alpaca-eval)' },
    'update-manifest': { type: 'boolean', description: 'record the metrics in the model\'s manifest.json' },
    quiet: { type: 'boolean', description: 'no progress output' },
  },
  async run({ args }) {
    const flags = parseArgs(Flags, args);
    const { manifest, bytes } = await readModelFolder(flags.model);
    const { examples } = await prepare({ inputs: flags.data, nearDuplicate: 0.85, refusalPairs: 0, seed: 0 });
    const chosen = flags.sources ? examples.filter((ex) => flags.sources!.includes(ex.source) || ex.source === flags.reference) : examples;
    const scorer = await createScorer(bytes, manifest);
    const { result } = await evaluate(scorer, manifest, chosen, { threshold: flags.threshold, reference: flags.reference, quiet: flags.quiet });
    const out = flags.out ?? join(flags.model, 'eval');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeReport(out, result, `Evaluation of ${manifest.version}`, manifest);
    if (flags.updateManifest) {
      // Chart data stays, compact (issue 7): the worker's report page draws it from the manifest.
      const summary = Object.fromEntries(Object.entries(result.sources).map(([k, v]) => [k, compactForManifest(v)]));
      await recordMetrics(flags.model, 'eval', { threshold: result.threshold, msPerExample: result.msPerExample, sources: summary });
    }
    for (const [name, m] of Object.entries(result.sources)) {
      console.log(`${name.padEnd(40)} ${String(m.rows).padStart(6)}  AUPRC ${m.auprc?.toFixed(3) ?? '  –  '}  recall ${m.recall?.toFixed(3) ?? '  –  '}  FPR ${m.fpr?.toFixed(3) ?? '  –  '}${m.seenInTraining ? '  (trained on)' : ''}`);
    }
    console.log(`${result.examples} examples, ${result.msPerExample} ms/example; report: ${join(out, 'report.md')}`);
  },
});
