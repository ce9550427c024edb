/**
 * Plain SVG charts for eval reports: precision-recall curves and score histograms with the
 * threshold marked. Strings in, strings out; no dependencies.
 */

const W = 360;
const H = 240;
const PAD = 36;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const x = (v: number) => PAD + v * (W - 2 * PAD);
const y = (v: number) => H - PAD - v * (H - 2 * PAD);

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  const ticks = [0, 0.5, 1]
    .map((t) => `<text x="${x(t)}" y="${H - PAD + 14}" text-anchor="middle">${t}</text><text x="${PAD - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(title)}">
<title>${esc(title)}</title><rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>
<path d="M${PAD} ${PAD}V${H - PAD}H${W - PAD}" fill="none" stroke="#444"/>${ticks}
<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(11 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>
${body}</svg>`;
}

/** A precision-recall curve (recall on x, precision on y). */
export function prCurveSvg(title: string, points: { precision: number; recall: number }[]): string {
  const sorted = [...points].sort((a, b) => a.recall - b.recall);
  const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(p.recall).toFixed(1)} ${y(p.precision).toFixed(1)}`).join('');
  return frame(title, 'recall', 'precision', `<path d="${d}" fill="none" stroke="#c0392b" stroke-width="2"/>`);
}

/** Overlaid histograms of harmful and benign scores (share of each class per bin), threshold marked. */
export function histogramSvg(title: string, harmful: number[], benign: number[], threshold: number): string {
  const bins = harmful.length;
  const norm = (h: number[]) => {
    const total = h.reduce((a, b) => a + b, 0) || 1;
    return h.map((v) => v / total);
  };
  const [hN, bN] = [norm(harmful), norm(benign)];
  const top = Math.max(...hN, ...bN, 1e-9);
  const bw = (W - 2 * PAD) / bins;
  const bars = (v: number[], color: string, name: string) =>
    v.map((h, i) => `<rect x="${(PAD + i * bw).toFixed(1)}" y="${y(h / top).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(y(0) - y(h / top)).toFixed(1)}" fill="${color}" fill-opacity="0.55"><title>${name} ${(i / bins).toFixed(2)}-${((i + 1) / bins).toFixed(2)}: ${(100 * h).toFixed(1)}%</title></rect>`).join('');
  const t = x(threshold).toFixed(1);
  return frame(title, 'P(harmful)', 'share of class', `${bars(bN, '#2e86c1', 'benign')}${bars(hN, '#c0392b', 'harmful')}
<line x1="${t}" x2="${t}" y1="${PAD}" y2="${H - PAD}" stroke="#000" stroke-dasharray="4 3"/><text x="${t}" y="${PAD - 4}" text-anchor="middle">threshold ${threshold.toFixed(2)}</text>
<rect x="${W - PAD - 70}" y="${PAD}" width="10" height="10" fill="#c0392b"/><text x="${W - PAD - 56}" y="${PAD + 9}">harmful</text>
<rect x="${W - PAD - 70}" y="${PAD + 14}" width="10" height="10" fill="#2e86c1"/><text x="${W - PAD - 56}" y="${PAD + 23}">benign</text>`);
}
