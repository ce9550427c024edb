/**
 * The playground's browser script, as the text of its one inline `<script>`: plain ES2020, no
 * framework, no build step. It calls the public API exactly as any client would (GET /v1/models,
 * POST /v1/classify) and shows the equivalent curl command. An API key, when the server asks for
 * one (401), lives in a variable of this page only: never in storage, a cookie or a URL.
 *
 * Written as a raw string (no backticks or `${` inside): the worker serves it as it is, and the
 * page's Content-Security-Policy allows exactly this text by its hash.
 */
export const PLAYGROUND_SCRIPT = String.raw`
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const form = $('classify-form');
  const promptEl = $('prompt');
  const responseEl = $('response');
  const submitEl = $('submit');
  const errorEl = $('error');
  const resultEl = $('result');
  const keyForm = $('key-form');
  const keyInput = $('api-key');
  let apiKey = ''; // this page's memory only
  let model = null; // { version, threshold, categoryThresholds }
  let retry = null; // what to run again once a key is given

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function api(path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (apiKey) headers.authorization = 'Bearer ' + apiKey;
    const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(res.status, error.code || 'http_' + res.status, error.message || res.statusText, res.headers.get('retry-after'));
    }
    return { res, data };
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function fail(error, again) {
    if (error instanceof ApiError && error.status === 401) {
      retry = again;
      keyForm.hidden = false;
      $('key-why').textContent = error.code === 'invalid_api_key' ? 'That key was refused: ' + error.message + '.' : '';
      keyInput.focus();
      return;
    }
    if (error instanceof ApiError) {
      const wait = error.retryAfter ? ' Retry in ' + error.retryAfter + ' s.' : '';
      showError(error.status + ' ' + error.code + ': ' + error.message + wait);
    } else {
      showError('The request failed: ' + (error && error.message ? error.message : error));
    }
  }

  async function loadModel() {
    const { data } = await api('/v1/models');
    const entry = data.data[0];
    model = { version: entry.id, threshold: entry.threshold, categoryThresholds: entry.categoryThresholds || {} };
    $('model-version').textContent = model.version;
    $('model-threshold').textContent = model.threshold.toFixed(3);
    $('report-link').href = '/v1/models/' + encodeURIComponent(model.version) + '/report';
    $('report-item').hidden = false;
  }

  function serverTiming(header) {
    const out = {};
    for (const part of (header || '').split(',')) {
      const name = part.split(';')[0].trim();
      const dur = /dur=([\d.]+)/.exec(part);
      if (name && dur) out[name] = Number(dur[1]);
    }
    return out;
  }

  function setBar(bar, score, threshold, flagged) {
    bar.querySelector('.fill').style.width = (100 * score).toFixed(1) + '%';
    bar.querySelector('.mark').style.left = (100 * threshold).toFixed(1) + '%';
    bar.classList.toggle('flagged', flagged);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function categoryRow(label, verdict, threshold) {
    const row = element('li', 'cat' + (verdict.flagged ? ' flagged' : ''));
    row.dataset.label = label;
    row.append(element('span', 'cat-name', label));
    const bar = element('span', 'bar');
    bar.setAttribute('aria-hidden', 'true');
    bar.append(element('span', 'fill'), element('span', 'mark'));
    setBar(bar, verdict.score, threshold, verdict.flagged);
    row.append(bar, element('span', 'cat-score', verdict.score.toFixed(3)));
    if (verdict.flagged) {
      const flag = element('span', 'flag', '⚑');
      flag.setAttribute('aria-hidden', 'true');
      flag.title = 'flagged';
      row.append(flag, element('span', 'sr-only', 'flagged'));
    }
    return row;
  }

  const shellQuote = (text) => "'" + text.replace(/'/g, "'\\''") + "'";

  function curlOf(body) {
    const lines = ['curl -s ' + location.origin + '/v1/classify', "-H 'content-type: application/json'"];
    if (apiKey) lines.push('-H "authorization: Bearer $EDGEGUARD_API_KEY"');
    lines.push('-d ' + shellQuote(JSON.stringify(body)));
    return lines.join(' \\\n  ');
  }

  function render(data, body, roundTripMs, timing) {
    const result = data.results[0];
    const policy = data.policy || {};
    const threshold = typeof policy.threshold === 'number' ? policy.threshold : model.threshold;
    const thresholds = policy.categoryThresholds || model.categoryThresholds;
    resultEl.classList.remove('empty');
    if (result.score === null) {
      const why = data.unavailable && data.unavailable.reason ? data.unavailable.reason : 'no model could score it';
      $('decision').textContent = 'Not scored';
      $('decision').className = 'badge';
      $('score').textContent = '–';
      $('summary').textContent = 'Not scored: ' + why + '.';
      $('categories').replaceChildren();
      return;
    }
    $('score').textContent = result.score.toFixed(3);
    $('decision').textContent = result.flagged ? 'Flagged' : 'Allowed';
    $('decision').className = 'badge ' + (result.flagged ? 'bad' : 'ok');
    $('threshold').textContent = threshold.toFixed(3);
    setBar($('score-bar'), result.score, threshold, result.flagged);
    const categories = Object.entries(result.categories).sort((a, b) => b[1].score - a[1].score);
    $('categories').replaceChildren(...categories.map(([label, verdict]) => {
      const own = typeof thresholds[label] === 'number' ? thresholds[label] : threshold;
      return categoryRow(label, verdict, own);
    }));
    $('result-version').textContent = data.model.version;
    $('latency').textContent = Math.round(roundTripMs) + ' ms round trip';
    $('inference').textContent = timing.inference === undefined ? '' : ', ' + timing.inference + ' ms inference in the worker';
    $('curl').textContent = curlOf(body);
    const top = categories[0];
    $('summary').textContent = (result.flagged ? 'Flagged' : 'Allowed') + ': P(harmful) ' + result.score.toFixed(3) + ', threshold ' + threshold.toFixed(3) +
      (top ? '; highest category ' + top[0] + ' ' + top[1].score.toFixed(3) : '') + '.';
  }

  async function classify(startedAt) {
    const prompt = promptEl.value;
    const response = responseEl.value;
    if (!prompt.trim()) {
      showError('Type a prompt first.');
      promptEl.focus();
      return;
    }
    const body = response.trim() ? { prompt, response } : { prompt };
    showError('');
    submitEl.disabled = true;
    submitEl.textContent = 'Classifying…';
    resultEl.setAttribute('aria-busy', 'true');
    const started = performance.now();
    try {
      const { res, data } = await api('/v1/classify', body);
      const roundTripMs = performance.now() - started;
      if (!model || (data.model && data.model.version !== model.version)) await loadModel();
      render(data, body, roundTripMs, serverTiming(res.headers.get('server-timing')));
      // on a phone the result is below the form: bring it into view (focus stays where it was)
      if (resultEl.getBoundingClientRect().top > window.innerHeight - 80) resultEl.scrollIntoView({ block: 'start' });
      // time to first result: from the click (or submit) to the result on screen
      requestAnimationFrame(() => performance.measure('edgeguard:result', { start: startedAt }));
    } catch (error) {
      fail(error, () => classify(performance.now()));
    } finally {
      submitEl.disabled = false;
      submitEl.textContent = 'Classify';
      resultEl.setAttribute('aria-busy', 'false');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    classify(event.timeStamp);
  });
  for (const area of [promptEl, responseEl]) {
    area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
  for (const button of document.querySelectorAll('[data-example]')) {
    button.addEventListener('click', (event) => {
      promptEl.value = button.dataset.prompt || '';
      responseEl.value = button.dataset.response || '';
      classify(event.timeStamp);
    });
  }
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    apiKey = keyInput.value.trim();
    keyInput.value = '';
    $('key-state').textContent = apiKey ? 'Key set for this page; reloading forgets it.' : '';
    $('forget-key').hidden = !apiKey;
    showError('');
    const again = retry;
    retry = null;
    if (again) again();
    else loadModel().catch((error) => fail(error, null));
  });
  // With a key, the report (under /v1/, so behind the key) is fetched with it and written into a
  // new tab: a same-origin about:blank that inherits this page's CSP, which allows the report's style.
  $('report-link').addEventListener('click', (event) => {
    if (!apiKey) return;
    event.preventDefault();
    const view = window.open('', '_blank');
    fetch($('report-link').href, { headers: { authorization: 'Bearer ' + apiKey } })
      .then(async (res) => {
        if (!res.ok) {
          const error = ((await res.json().catch(() => null)) || {}).error || {};
          throw new ApiError(res.status, error.code || 'http_' + res.status, error.message || res.statusText, res.headers.get('retry-after'));
        }
        const html = await res.text();
        view.document.open();
        view.document.write(html);
        view.document.close();
      })
      .catch((error) => {
        if (view) view.close();
        fail(error, null);
      });
  });
  $('forget-key').addEventListener('click', () => {
    apiKey = '';
    $('key-state').textContent = 'Key forgotten.';
    $('forget-key').hidden = true;
  });

  const start = () => loadModel().catch((error) => fail(error, start));
  start();
})();
`;
