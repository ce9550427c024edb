/**
 * The HTML our pages share: escaping, one document shell and one stylesheet, so the playground,
 * the worker's model report and the pipeline's report.html look alike. Pure strings: no DOM, Node
 * or Workers APIs, so the pipeline may import it.
 */

/**
 * Escapes text for HTML text and double- or single-quoted attribute values.
 * @example escapeHtml('<b a="1">') // '&#60;b a=&#34;1&#34;&#62;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The shared stylesheet: system fonts, a narrow reading width, tables, badges and visible focus.
 * Colours keep a contrast of at least 4.5:1 on white.
 */
export const BASE_CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--accent:#0b5cad;--bad:#b3261e;--bad-soft:#fbe9e7;--ok:#1a7f37;--ok-soft:#e6f4ea;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
.wrap{max-width:1040px;margin:0 auto;padding:0 16px}
.top{border-bottom:1px solid var(--line);background:var(--soft)}
.top .wrap{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;justify-content:space-between;padding-top:10px;padding-bottom:10px}
.brand{font-weight:700;color:var(--fg);text-decoration:none;font-size:18px}
.top nav{color:var(--muted);font-size:14px}
h1{font-size:26px;line-height:1.25;margin:24px 0 4px}
h2{font-size:19px;margin:32px 0 8px}
h3{font-size:16px;margin:0 0 4px}
p{margin:0 0 12px}
a{color:var(--accent)}
code{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}
.muted{color:var(--muted)}
.lead{color:var(--muted);max-width:70ch}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.badge{display:inline-block;font-size:12px;font-weight:600;line-height:18px;padding:0 8px;border-radius:9px;background:var(--soft);border:1px solid var(--line);color:var(--muted);white-space:nowrap}
.badge.bad{background:var(--bad-soft);border-color:#f1b9b3;color:var(--bad)}
.badge.ok{background:var(--ok-soft);border-color:#a8d5b5;color:var(--ok)}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
thead th{background:var(--soft);font-weight:600}
tbody tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
footer.wrap{margin:40px auto 24px;color:var(--muted);font-size:14px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

/** A whole page: the shell, the shared stylesheet plus `css`, and an optional inline script. */
export interface HtmlDocument {
  title: string;
  /** Page-specific CSS, appended to BASE_CSS in the one `<style>` element. */
  css?: string;
  /** The `<body>` content (already escaped). */
  body: string;
  /** One inline script, run at the end of the body. */
  script?: string;
}

/** The text of the page's one `<style>` element: what a Content-Security-Policy hash covers. */
export function styleOf(doc: Pick<HtmlDocument, 'css'>): string {
  return BASE_CSS + (doc.css ?? '');
}

/**
 * Renders a page. A favicon is inlined so a browser makes no extra request for one.
 * @example htmlDocument({ title: 'EdgeGuard', body: '<h1>Hi</h1>' })
 */
export function htmlDocument(doc: HtmlDocument): string {
  const script = doc.script ? `<script>${doc.script}</script>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M8 1 2 3.5v4C2 11 4.6 14 8 15c3.4-1 6-4 6-7.5v-4z' fill='%230b5cad'/%3E%3C/svg%3E">
<style>${styleOf(doc)}</style>
</head>
<body>
${doc.body}
${script}
</body>
</html>
`;
}
