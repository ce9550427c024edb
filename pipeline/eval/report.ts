/**
 * A readable eval report: a per-source table in markdown with SVG charts written beside it
 * (report.md, charts/*.svg), and the same page the worker serves at /v1/models/<version>/report
 * (report.html, charts inline). The charts and the HTML page come from src/report/, shared with
 * the worker.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../../src/guard/manifest.ts';
import { histogramSvg, prCurveSvg } from '../../src/report/charts.ts';
import { renderModelReport } from '../../src/report/model-report.ts';
import type { EvalResult } from './evaluate.ts';

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Writes report.md and charts/*.svg into `dir`, and report.html when the manifest is given. */
export async function writeReport(dir: string, result: EvalResult, title: string, manifest?: Manifest): Promise<void> {
  await mkdir(join(dir, 'charts'), { recursive: true });
  const lines = [
    `# ${title}`,
    '',
    `Model \`${result.model}\`, threshold ${result.threshold.toFixed(4)}, ${result.examples} examples, ${result.msPerExample} ms per example (onnxruntime-web WASM, one thread).`,
    '',
    '| source | rows | harmful | benign | seen in training | AUPRC | precision | recall | F1 | FPR |',
    '|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, m] of Object.entries(result.sources)) {
    const auprc = m.auprcAgainst ? `${num(m.auprc)} (vs ${m.auprcAgainst})` : num(m.auprc);
    lines.push(
      `| ${name} | ${m.rows} | ${m.harmful} | ${m.benign} | ${m.seenInTraining ? 'yes' : 'no'} | ${auprc} | ${pct(m.precision)} | ${pct(m.recall)} | ${num(m.f1)} | ${pct(m.fpr)} |`,
    );
  }
  lines.push('', '## Charts', '');
  for (const [name, m] of Object.entries(result.sources)) {
    const files: string[] = [];
    if (m.curve.length) {
      await writeFile(
        join(dir, 'charts', `${slug(name)}-pr.svg`),
        prCurveSvg(`${name}: precision-recall`, m.curve, { auprc: m.auprc, threshold: result.threshold }),
      );
      files.push(`![${name} precision-recall](charts/${slug(name)}-pr.svg)`);
    }
    await writeFile(
      join(dir, 'charts', `${slug(name)}-scores.svg`),
      histogramSvg(`${name}: scores`, m.histogram.harmful, m.histogram.benign, result.threshold),
    );
    files.push(`![${name} score distribution](charts/${slug(name)}-scores.svg)`);
    lines.push(`### ${name}`, '', files.join(' '), '');
  }
  await writeFile(join(dir, 'report.md'), `${lines.join('\n')}\n`);
  if (manifest) await writeFile(join(dir, 'report.html'), renderModelReport(manifest, { eval: result, links: false }));
}
