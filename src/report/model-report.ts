/**
 * A model's report as one HTML page: what the model is, its per-data-set metrics at the threshold,
 * precision-recall curves and score distributions (where the manifest carries them) and the data
 * sources with their licences. Served by the worker (GET /v1/models/<version>/report) and written
 * by `pipeline eval` (report.html); a pure function of the manifest, so both pages are the same.
 */
import type { Manifest } from '../guard/manifest.ts';
import { histogramSvg, prCurveSvg } from './charts.ts';
import { evalMetricsOf, type EvalMetrics, type SourceMetrics } from './eval-metrics.ts';
import { escapeHtml as esc, htmlDocument, styleOf } from './html.ts';

/** The report's own CSS, after BASE_CSS; exported so a server can hash the page's `<style>`. */
export const REPORT_CSS = `
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;margin:16px 0 0;padding:0}
.facts div{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.facts dt{font-size:13px;color:var(--muted)}
.facts dd{margin:0;font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.cards{display:grid;gap:16px}
details.more{margin-top:16px}
details.more>summary{cursor:pointer;color:var(--accent);font-weight:600;margin-bottom:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px}
.card p{font-size:14px;margin:0 0 8px}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
@media (max-width:640px){.charts{grid-template-columns:minmax(0,1fr)}}
.charts svg{width:100%;height:auto;display:block}
.note{font-size:13px;color:var(--muted);margin-top:6px}
sup{color:var(--muted)}
`;

/** The text of a report page's `<style>`: what a Content-Security-Policy hash covers. */
export const REPORT_STYLE = styleOf({ css: REPORT_CSS });

/** How to render a report: which evaluation, and whether the page lives on a server. */
export interface ReportOptions {
  /** The evaluation to show; default: the manifest's `metrics.eval`. */
  eval?: EvalMetrics;
  /** Links to the worker's playground and API (default true; a report file has no server). */
  links?: boolean;
}

const num = (v: number) => String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const rate = (v: number | null) => (v === null ? '–' : v.toFixed(3));
const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const slug = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '-');
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function trainingBadge(m: SourceMetrics): string {
  return m.seenInTraining ? '<span class="badge">trained on</span>' : '<span class="badge ok">held out</span>';
}

/** Held-out sources first (their numbers are the honest ones), then by name. */
function ordered(ev: EvalMetrics): [string, SourceMetrics][] {
  return Object.entries(ev.sources).sort(([a, ma], [b, mb]) => Number(ma.seenInTraining) - Number(mb.seenInTraining) || a.localeCompare(b));
}

function metricsTable(ev: EvalMetrics): string {
  const references = [...new Set(Object.values(ev.sources).flatMap((m) => (m.auprcAgainst ? [m.auprcAgainst] : [])))];
  const rows = ordered(ev)
    .map(([name, m]) => {
      const against = m.auprcAgainst ? '<sup>†</sup>' : '';
      return `<tr data-source="${esc(name)}"><th scope="row">${esc(name)}</th><td>${trainingBadge(m)}</td><td class="num">${num(m.rows)}</td><td class="num">${num(m.harmful)}</td><td class="num">${num(m.benign)}</td><td class="num">${rate(m.auprc)}${against}</td><td class="num">${pct(m.precision)}</td><td class="num">${pct(m.recall)}</td><td class="num">${rate(m.f1)}</td><td class="num">${pct(m.fpr)}</td></tr>`;
    })
    .join('\n');
  return `<div class="scroll" role="region" aria-labelledby="metrics" tabindex="0"><table id="metrics-table">
<caption class="sr-only">Metrics per data set at threshold ${ev.threshold.toFixed(3)}</caption>
<thead><tr><th scope="col">Data set</th><th scope="col">Training</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Harmful</th><th scope="col" class="num">Benign</th><th scope="col" class="num">AUPRC</th><th scope="col" class="num">Precision</th><th scope="col" class="num">Recall</th><th scope="col" class="num">F1</th><th scope="col" class="num">FPR</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>
${references.length ? `<p class="note">† A harmful-only data set: its AUPRC ranks it against ${references.map(esc).join(', ')} (benign).</p>` : ''}`;
}

function chartCards(ev: EvalMetrics): string {
  const card = ([name, m]: [string, SourceMetrics]) => {
    const charts = [
      m.curve.length ? prCurveSvg('Precision-recall', m.curve, { auprc: m.auprc, threshold: ev.threshold }) : '',
      m.histogram ? histogramSvg('Scores', m.histogram.harmful, m.histogram.benign, ev.threshold) : '',
    ].join('\n');
    const facts = [
      `${num(m.harmful)} harmful, ${num(m.benign)} benign`,
      m.auprc === null ? '' : `AUPRC ${rate(m.auprc)}${m.auprcAgainst ? ` vs ${esc(m.auprcAgainst)}` : ''}`,
      m.recall === null ? '' : `recall ${pct(m.recall)}`,
      m.fpr === null ? '' : `FPR ${pct(m.fpr)}`,
    ].filter(Boolean);
    return `<section class="card" id="source-${slug(name)}" data-source="${esc(name)}" aria-labelledby="h-${slug(name)}">
<h3 id="h-${slug(name)}">${esc(name)} ${trainingBadge(m)}</h3>
<p class="muted">${facts.join(' · ')}</p>
<div class="charts">${charts}</div>
</section>`;
  };
  const drawn = ordered(ev).filter(([, m]) => m.curve.length > 0 || m.histogram);
  if (!drawn.length) {
    return '<p id="no-charts">This manifest carries no curves or histograms. <code>pipeline eval --model &lt;dir&gt; --update-manifest</code> records them.</p>';
  }
  const heldOut = drawn.filter(([, m]) => !m.seenInTraining);
  const trained = drawn.filter(([, m]) => m.seenInTraining);
  // The held-out sets first and open; the trained-on ones, many and optimistic, folded away.
  const trainedCards = `<div class="cards">\n${trained.map(card).join('\n')}\n</div>`;
  return `<p>Dashed line: the threshold ${ev.threshold.toFixed(3)}. A harmful-only data set is ranked against a benign reference set for its curve and AUPRC.</p>
${heldOut.length ? `<div class="cards">\n${heldOut.map(card).join('\n')}\n</div>` : ''}
${trained.length ? (heldOut.length ? `<details class="more"><summary>Data sets the model was trained on (${trained.length})</summary>\n${trainedCards}\n</details>` : trainedCards) : ''}`;
}

function dataSourcesTable(manifest: Manifest): string {
  if (!manifest.dataSources.length) return '<p>The manifest lists no data sources.</p>';
  const rows = manifest.dataSources
    .map(
      (s) =>
        `<tr><th scope="row">${esc(s.name)}</th><td>${esc(s.license)}</td><td class="num">${num(s.rows)}</td><td>${s.use === 'train' ? '<span class="badge">train</span>' : '<span class="badge ok">eval only</span>'}</td></tr>`,
    )
    .join('\n');
  return `<div class="scroll" role="region" aria-labelledby="sources" tabindex="0"><table id="sources-table">
<thead><tr><th scope="col">Data set</th><th scope="col">Licence</th><th scope="col" class="num">Rows</th><th scope="col">Use</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
}

/**
 * Renders the report page of `manifest`.
 * @param options the evaluation to show (default: `manifest.metrics.eval`) and whether to link to
 *   the worker's pages (default true)
 * @example new Response(renderModelReport(manifest), { headers: { 'content-type': 'text/html' } })
 */
export function renderModelReport(manifest: Manifest, options: ReportOptions = {}): string {
  const { eval: ev, problem } = options.eval ? { eval: options.eval, problem: null } : evalMetricsOf(manifest.metrics);
  const { model } = manifest;
  const links = options.links ?? true;
  const sources = ev ? Object.values(ev.sources) : [];
  const heldOut = sources.filter((m) => !m.seenInTraining).length;
  const facts = [
    ['Threshold', manifest.threshold.toFixed(3)],
    ['Model file', megabytes(manifest.files.model.bytes)],
    ['Parameters', `${(model.parameters / 1e6).toFixed(1)} M`],
    ...(ev
      ? [
          ['Evaluated on', `${sources.length} data sets`],
          ['Examples', num(sources.reduce((n, m) => n + m.rows, 0))],
          ['Held out', `${heldOut} data set${heldOut === 1 ? '' : 's'}`],
        ]
      : []),
    ...(ev?.msPerExample === undefined ? [] : [['Inference per example', `${ev.msPerExample} ms`]]),
  ]
    .map(([term, value]) => `<div><dt>${term}</dt><dd>${esc(value!)}</dd></div>`)
    .join('');
  const nav = links
    ? `<nav aria-label="Pages"><a href="/">Playground</a> · <a href="/v1/models">/v1/models</a></nav>`
    : '<nav aria-label="Pages">model report</nav>';
  const evalBody = ev
    ? `<p>At threshold ${ev.threshold.toFixed(3)}${ev.threshold === manifest.threshold ? '' : ` (the model serves at ${manifest.threshold.toFixed(3)})`}. A <span class="badge ok">held out</span> data set was never trained on, so its numbers are the honest ones; a data set the model was <span class="badge">trained on</span> can share rows with its training split.</p>
${metricsTable(ev)}
<h2 id="charts">Precision-recall and score distributions</h2>
${chartCards(ev)}`
    : `<p id="no-eval">${problem ? `The manifest's evaluation cannot be read (${esc(problem)}).` : 'This manifest records no evaluation.'} <code>pipeline eval --model &lt;dir&gt; --update-manifest</code> records one.</p>`;
  const body = `<header class="top"><div class="wrap"><a class="brand" href="${links ? '/' : '#'}">EdgeGuard</a>${nav}</div></header>
<main class="wrap">
<h1>Model <code>${esc(manifest.version)}</code></h1>
<p class="lead">${esc(model.architecture)} (embedding dim ${model.dim}, ${esc(model.pooling)} pooling, hidden ${model.hidden}, ${esc(model.quantization)}), created ${esc(manifest.createdAt.slice(0, 10))}. Labels: ${manifest.labels.map(esc).join(', ')}; the first is the overall P(harmful).</p>
<dl class="facts">${facts}</dl>
<h2 id="metrics">Per data set</h2>
${evalBody}
<h2 id="sources">Data sources</h2>
${dataSourcesTable(manifest)}
</main>
<footer class="wrap">From the manifest of <code>${esc(manifest.version)}</code>; <code>${esc(manifest.files.model.path)}</code> sha256 <code>${esc(manifest.files.model.sha256.slice(0, 16))}…</code></footer>`;
  return htmlDocument({ title: `EdgeGuard model ${manifest.version}: report`, css: REPORT_CSS, body });
}
