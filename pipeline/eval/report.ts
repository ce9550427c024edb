/** A readable eval report: a per-source table in markdown, with SVG charts written beside it. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { histogramSvg, prCurveSvg } from './charts.ts';
import type { EvalResult } from './evaluate.ts';

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Writes report.md and charts/*.svg into `dir`. */
export async function writeReport(dir: string, result: EvalResult, title: string): Promise<void> {
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
    lines.push(`| ${name} | ${m.rows} | ${m.harmful} | ${m.benign} | ${m.seenInTraining ? 'yes' : 'no'} | ${auprc} | ${pct(m.precision)} | ${pct(m.recall)} | ${num(m.f1)} | ${pct(m.fpr)} |`);
  }
  lines.push('', '## Charts', '');
  for (const [name, m] of Object.entries(result.sources)) {
    const files: string[] = [];
    if (m.curve.length) {
      await writeFile(join(dir, 'charts', `${slug(name)}-pr.svg`), prCurveSvg(`${name}: precision-recall`, m.curve));
      files.push(`![${name} precision-recall](charts/${slug(name)}-pr.svg)`);
    }
    await writeFile(join(dir, 'charts', `${slug(name)}-scores.svg`), histogramSvg(`${name}: scores`, m.histogram.harmful, m.histogram.benign, result.threshold));
    files.push(`![${name} score distribution](charts/${slug(name)}-scores.svg)`);
    lines.push(`### ${name}`, '', files.join(' '), '');
  }
  await writeFile(join(dir, 'report.md'), `${lines.join('\n')}\n`);
}
