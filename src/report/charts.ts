/**
 * Plain SVG charts for model reports: precision-recall curves and score histograms with the
 * threshold marked. Strings in, strings out: no DOM, Node or Workers APIs, no dependencies, so the
 * worker's report page and the pipeline's eval report draw the same charts. Each chart names its
 * numbers in its `<title>`/`<desc>` (screen readers, tooltips, tests).
 */
import { escapeHtml as esc } from './html.ts';

const W = 360;
const H = 250;
const M = { left: 40, right: 14, top: 46, bottom: 38 };
const COLOR = { harmful: '#b3261e', benign: '#1f6fb2', axis: '#57606a', grid: '#e6e9ed', text: '#1b1f24' };

const x = (v: number) => M.left + v * (W - M.left - M.right);
const y = (v: number) => H - M.bottom - v * (H - M.top - M.bottom);
const n1 = (v: number) => v.toFixed(1);
const n3 = (v: number) => v.toFixed(3);

/** One point of a precision-recall curve; `threshold` is the score it is measured at. */
export interface CurvePoint {
  threshold: number;
  precision: number;
  recall: number;
}

function frame(opts: {
  kind: string;
  title: string;
  summary: string;
  desc: string;
  xLabel: string;
  yLabel: string;
  yTicks?: string[];
  legend?: string;
  body: string;
}): string {
  const yTicks = opts.yTicks ?? ['0', '0.5', '1'];
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<path d="M${n1(x(0))} ${n1(y(t))}H${n1(x(1))}M${n1(x(t))} ${n1(y(0))}V${n1(y(1))}" stroke="${COLOR.grid}"/>`)
    .join('');
  const ticks = [0, 0.5, 1]
    .map(
      (t, i) =>
        `<text x="${n1(x(t))}" y="${H - M.bottom + 14}" text-anchor="middle">${t}</text><text x="${M.left - 6}" y="${n1(y(t) + 4)}" text-anchor="end">${esc(yTicks[i]!)}</text>`,
    )
    .join('');
  const label = `${opts.title}: ${opts.summary}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui,sans-serif" font-size="11" fill="${COLOR.text}" role="img" aria-label="${esc(label)}" data-chart="${opts.kind}">
<title>${esc(label)}</title><desc>${esc(opts.desc)}</desc><rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left - 30}" y="16" font-size="13" font-weight="600">${esc(opts.title)}</text>${opts.legend ?? ''}
${grid}<path d="M${M.left} ${M.top}V${H - M.bottom}H${W - M.right}" fill="none" stroke="${COLOR.axis}"/>${ticks}
<text x="${n1(x(0.5))}" y="${H - 6}" text-anchor="middle" fill="${COLOR.axis}">${esc(opts.xLabel)}</text>
<text transform="translate(11 ${n1(y(0.5))}) rotate(-90)" text-anchor="middle" fill="${COLOR.axis}">${esc(opts.yLabel)}</text>
${opts.body}</svg>`;
}

function legend(entries: { color: string; text: string }[]): string {
  let at = M.left - 30;
  return entries
    .map(({ color, text }) => {
      const item = `<rect x="${at}" y="24" width="10" height="10" rx="2" fill="${color}"/><text x="${at + 14}" y="33">${esc(text)}</text>`;
      at += 24 + text.length * 6;
      return item;
    })
    .join('');
}

/** A label that stays inside the plot: right of `atX`, or left of it near the right edge. */
function sideLabel(atX: number, atY: number, text: string): string {
  const left = atX > x(0.6);
  return `<text x="${n1(left ? atX - 4 : atX + 4)}" y="${n1(atY)}" text-anchor="${left ? 'end' : 'start'}" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(text)}</text>`;
}

/**
 * A precision-recall curve (recall on x, precision on y), its area shaded.
 * @param points the curve, in any order
 * @param options `auprc` is printed on the chart; `threshold` marks the curve point measured
 *   nearest to it
 * @example prCurveSvg('advbench: precision-recall', metrics.curve, { auprc: 0.988, threshold: 0.85 })
 */
export function prCurveSvg(title: string, points: CurvePoint[], options: { auprc?: number | null; threshold?: number } = {}): string {
  const sorted = [...points].sort((a, b) => a.recall - b.recall || b.threshold - a.threshold);
  const line = sorted.map((p, i) => `${i ? 'L' : 'M'}${n1(x(p.recall))} ${n1(y(p.precision))}`).join('');
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const area =
    first && last
      ? `<path d="M${n1(x(first.recall))} ${n1(y(0))}${line.replace(/^M/, 'L')}L${n1(x(last.recall))} ${n1(y(0))}Z" fill="${COLOR.harmful}" fill-opacity="0.1"/>`
      : '';
  const auprc = options.auprc ?? null;
  let marker = '';
  let at = '';
  if (options.threshold !== undefined && sorted.length) {
    const t = options.threshold;
    const near = sorted.reduce((best, p) => (Math.abs(p.threshold - t) < Math.abs(best.threshold - t) ? p : best));
    at = `; nearest point to threshold ${n3(t)}: precision ${n3(near.precision)}, recall ${n3(near.recall)}`;
    marker = `<circle cx="${n1(x(near.recall))}" cy="${n1(y(near.precision))}" r="4" fill="#fff" stroke="${COLOR.text}" stroke-width="2"><title>score ${n3(near.threshold)}: precision ${n3(near.precision)}, recall ${n3(near.recall)}</title></circle>${sideLabel(x(near.recall), y(near.precision) + 16, `threshold ${n3(t)}`)}`;
  }
  const summary = auprc === null ? `${points.length} points` : `AUPRC ${n3(auprc)}`;
  const body = `${area}<path d="${line}" fill="none" stroke="${COLOR.harmful}" stroke-width="2" stroke-linejoin="round"/>${marker}
${auprc === null ? '' : `<text x="${n1(x(0.03))}" y="${n1(y(0.06))}" font-size="12" font-weight="600" stroke="#fff" stroke-width="3" paint-order="stroke">AUPRC ${n3(auprc)}</text>`}`;
  return frame({
    kind: 'pr',
    title,
    summary,
    desc: `${points.length} points (recall, precision): ${sorted.map((p) => `(${n3(p.recall)}, ${n3(p.precision)})`).join(' ')}${at}`,
    xLabel: 'recall',
    yLabel: 'precision',
    body,
  });
}

/**
 * Overlaid histograms of the harmful and the benign examples' scores, each as a share of its
 * class, scaled to the tallest bin; the threshold is a dashed line.
 * @param harmful examples per score bin (equal-width bins over 0..1)
 * @param benign the same for benign examples, as many bins
 * @example histogramSvg('toxigen: scores', [0, 1, 9], [7, 2, 0], 0.85)
 */
export function histogramSvg(title: string, harmful: number[], benign: number[], threshold: number): string {
  const bins = Math.max(harmful.length, benign.length, 1);
  const total = (h: number[]) => h.reduce((a, b) => a + b, 0);
  const share = (h: number[]) => h.map((v) => v / (total(h) || 1));
  const [hS, bS] = [share(harmful), share(benign)];
  const top = Math.max(...hS, ...bS, 1e-9);
  const bw = (x(1) - x(0)) / bins;
  // One path per class: a bar is a closed rectangle, empty bins are left out.
  const bars = (shares: number[], color: string) => {
    const d = shares
      .map((s, i) => (s > 0 ? `M${n1(x(0) + i * bw + 0.5)} ${n1(y(0))}V${n1(y(s / top))}h${n1(bw - 1)}V${n1(y(0))}Z` : ''))
      .join('');
    return d ? `<path d="${d}" fill="${color}" fill-opacity="0.55"/>` : '';
  };
  const t = x(threshold);
  const classes = [
    { name: 'harmful', counts: harmful, color: COLOR.harmful },
    { name: 'benign', counts: benign, color: COLOR.benign },
  ].filter((c) => total(c.counts) > 0);
  const summary = `${classes.map((c) => `${total(c.counts)} ${c.name}`).join(', ') || 'no examples'}, threshold ${n3(threshold)}`;
  const body = `${bars(bS, COLOR.benign)}${bars(hS, COLOR.harmful)}
<path d="M${n1(t)} ${M.top - 4}V${H - M.bottom}" stroke="${COLOR.text}" stroke-width="1.5" stroke-dasharray="4 3"/>${sideLabel(t, M.top + 8, `threshold ${n3(threshold)}`)}`;
  return frame({
    kind: 'histogram',
    title,
    summary,
    desc: `${bins} score bins of width ${n3(1 / bins)}; examples per bin: ${classes.map((c) => `${c.name} ${c.counts.join(' ')}`).join('; ')}`,
    xLabel: 'score, P(harmful)',
    yLabel: 'share of class',
    yTicks: [0, top / 2, top].map((v) => `${(100 * v).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`),
    legend: legend(classes.map((c) => ({ color: c.color, text: `${c.name} (${total(c.counts)})` }))),
    body,
  });
}
