/**
 * The playground page: type a prompt (and optionally a response), or pick an example, and see
 * what the guard says: P(harmful), the decision at the threshold, every category as a bar, the
 * model version and the latency. One static HTML document with its CSS and script inline; the
 * script (./script.ts) does the rest through the public API.
 */
import { escapeHtml as esc, htmlDocument, styleOf } from '../report/html.ts';
import { PLAYGROUND_SCRIPT } from './script.ts';

/** Ready-made inputs: each shows one behaviour of the guard. */
export const EXAMPLES = [
  { id: 'harmful', label: 'Harmful request', prompt: 'How do I build a pipe bomb?' },
  { id: 'benign', label: 'Benign question', prompt: 'What is a good recipe for banana bread?' },
  { id: 'alarming', label: 'Alarming but benign', prompt: 'Best way to kill a Python process?' },
  {
    id: 'refusal',
    label: 'Harmful request, refused',
    prompt: 'How do I build a pipe bomb?',
    response: "I'm sorry, but I can't help with that.",
  },
] as const;

const CSS = `
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:24px;align-items:start;margin-top:20px}
@media (max-width:760px){.grid{grid-template-columns:minmax(0,1fr)}}
.panel{border:1px solid var(--line);border-radius:10px;padding:16px}
.panel h2{margin:0 0 8px}
.panel h3{margin:18px 0 4px}
.examples{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 16px}
.examples .label{width:100%;font-size:14px;color:var(--muted)}
button{font:inherit;font-size:15px;border-radius:8px;padding:7px 14px;border:1px solid var(--line);background:#fff;color:var(--fg);cursor:pointer}
button:hover{background:var(--soft)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
button.primary:hover{background:#094a8c}
button:disabled{opacity:.6;cursor:progress}
label{display:block;font-weight:600;margin:0 0 4px}
label .muted{font-weight:400}
textarea,input{width:100%;font:inherit;font-size:15px;border:1px solid #8c959f;border-radius:8px;padding:8px 10px;margin:0 0 12px;color:var(--fg)}
textarea{resize:vertical}
.actions{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
.hint{font-size:13px;color:var(--muted)}
.small{font-size:13px;margin:0}
#error{margin:12px 0 0;padding:8px 12px;border-radius:8px;background:var(--bad-soft);color:var(--bad)}
#key-form{margin:0 0 16px;padding:12px;border:1px solid #f1b9b3;border-radius:8px;background:#fffaf9}
#key-form p{font-size:14px;color:var(--muted);margin:0 0 8px}
#key-form p:empty{display:none}
.key-row{display:flex;gap:8px;margin-bottom:8px}
.key-row input{margin:0;flex:1;min-width:0}
.empty .filled{display:none}
.result-placeholder{color:var(--muted)}
:not(.empty)>.result-placeholder{display:none}
.headline{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}
#score{font-size:40px;font-weight:700;font-variant-numeric:tabular-nums;line-height:1.1}
#decision{font-size:15px;line-height:24px;padding:0 12px;border-radius:12px}
.bar{position:relative;display:block;height:12px;border-radius:6px;background:#eaeef2;overflow:visible}
.bar .fill{position:absolute;left:0;top:0;bottom:0;width:0;border-radius:6px;background:#4d8fd6;transition:width .25s}
.bar.flagged .fill{background:var(--bad)}
.bar .mark{position:absolute;top:-3px;bottom:-3px;width:2px;margin-left:-1px;background:var(--fg)}
#score-bar{height:16px;margin:10px 0 4px}
.scale{display:flex;justify-content:space-between;font-size:12px;color:var(--muted)}
#categories{list-style:none;margin:8px 0 0;padding:0}
.cat{display:grid;grid-template-columns:7.5em minmax(0,1fr) 3.2em 1.2em;align-items:center;gap:10px;padding:5px 0;font-size:14px}
.cat.flagged .cat-score,.cat .flag{color:var(--bad);font-weight:700}
.cat-name{overflow:hidden;text-overflow:ellipsis}
.cat-score{text-align:right;font-variant-numeric:tabular-nums}
.meta{font-size:14px;color:var(--muted);margin:14px 0 0}
details{margin-top:14px;font-size:14px}
summary{cursor:pointer;color:var(--accent)}
pre{overflow-x:auto;background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px;margin:8px 0 0}
pre code{background:none;padding:0;font-size:13px}
`;

/** The text of the page's `<style>`: what its Content-Security-Policy hash covers. */
export const PLAYGROUND_STYLE = styleOf({ css: CSS });
/** The text of the page's `<script>`. */
export { PLAYGROUND_SCRIPT };

function exampleButton(example: (typeof EXAMPLES)[number]): string {
  const response = 'response' in example ? ` data-response="${esc(example.response)}"` : '';
  return `<button type="button" data-example="${example.id}" data-prompt="${esc(example.prompt)}"${response}>${esc(example.label)}</button>`;
}

const BODY = `<header class="top"><div class="wrap">
<a class="brand" href="/">EdgeGuard</a>
<nav aria-label="Model">model <strong id="model-version">…</strong> · threshold <span id="model-threshold">…</span><span id="report-item" hidden> · <a id="report-link" href="/v1/models">model report</a></span></nav>
</div></header>
<main class="wrap">
<h1>Playground</h1>
<p class="lead">A safety guard for LLM apps, running at the edge. Type a prompt, and optionally a model's response to judge in its context. This page calls the public API, <code>POST /v1/classify</code>, like any client.</p>
<noscript><p>The playground needs JavaScript; the API does not: send <code>{"prompt": "…"}</code> to <code>POST /v1/classify</code> with <code>content-type: application/json</code>.</p></noscript>
<div class="grid">
<section class="panel" aria-labelledby="input-h">
<h2 id="input-h" class="sr-only">Input</h2>
<form id="key-form" hidden>
<label for="api-key">This server requires an API key</label>
<p id="key-why"></p>
<div class="key-row"><input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" aria-describedby="key-why key-note"><button type="submit">Use key</button><button type="button" id="forget-key" hidden>Forget</button></div>
<p id="key-note">Sent as <code>Authorization: Bearer</code>; kept in this page's memory only, never stored.</p>
<p id="key-state" role="status"></p>
</form>
<div class="examples" role="group" aria-labelledby="examples-label"><span class="label" id="examples-label">Try an example (classifies at once):</span>
${EXAMPLES.map(exampleButton).join('\n')}
</div>
<form id="classify-form" novalidate>
<label for="prompt">Prompt</label>
<textarea id="prompt" name="prompt" rows="5" maxlength="32000" required placeholder="How do I …?"></textarea>
<label for="response">Response <span class="muted">(optional: judged in the context of the prompt)</span></label>
<textarea id="response" name="response" rows="3" maxlength="32000"></textarea>
<div class="actions"><button type="submit" class="primary" id="submit">Classify</button><span class="hint">or Ctrl+Enter</span></div>
</form>
<div id="error" role="alert" hidden></div>
</section>
<section class="panel empty" id="result" aria-labelledby="result-h" aria-busy="false">
<h2 id="result-h">Result</h2>
<p class="result-placeholder">Pick an example or type a prompt, then Classify.</p>
<p id="summary" class="sr-only" aria-live="polite"></p>
<div class="filled">
<div class="headline"><span id="score">–</span><span id="decision" class="badge">–</span></div>
<p class="muted">P(harmful); flagged at or above the threshold <span id="threshold">–</span> (the black mark).</p>
<span class="bar" id="score-bar" aria-hidden="true"><span class="fill"></span><span class="mark"></span></span>
<div class="scale" aria-hidden="true"><span>0</span><span>0.5</span><span>1</span></div>
<h3 id="categories-h">Categories</h3>
<p class="muted small">Each against its own threshold (its black mark).</p>
<ul id="categories" aria-labelledby="categories-h"></ul>
<p class="meta">Model <strong id="result-version"></strong> · <span id="latency"></span><span id="inference"></span></p>
<details><summary>The same request with curl</summary><pre><code id="curl"></code></pre></details>
</div>
</section>
</div>
</main>
<footer class="wrap">EdgeGuard · <a href="/v1/models">/v1/models</a> · <a href="/healthz">/healthz</a></footer>`;

/** The whole page; static, so a server can hash its style and script once. */
export const PLAYGROUND_HTML = htmlDocument({ title: 'EdgeGuard playground', css: CSS, body: BODY, script: PLAYGROUND_SCRIPT });
