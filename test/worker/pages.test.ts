/**
 * The worker's HTML pages through its own fetch: the playground at GET / for browsers (the JSON
 * index for everyone else), the model report at GET /v1/models/<version>/report, and the CSP of
 * both. What the pages do in a browser is test/browser's job.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { MODEL_KEYS, type Manifest } from '../../src/guard/manifest.ts';
import { createRegistry } from '../../src/guard/registry.ts';
import { REPORT_STYLE } from '../../src/report/model-report.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A read-only bucket: the manifests, plus one model's bytes and the pointer naming it. */
function readOnlyBucket(manifests: Manifest[], current: { version: string; bytes: Uint8Array }): R2Bucket {
  const objects = new Map<string, Uint8Array>(
    manifests.map((m) => [MODEL_KEYS.manifest(m.version), new TextEncoder().encode(JSON.stringify(m))]),
  );
  objects.set(MODEL_KEYS.model(current.version), current.bytes);
  objects.set(MODEL_KEYS.pointer, new TextEncoder().encode(JSON.stringify({ version: current.version })));
  return {
    get: async (key: string) => {
      const bytes = objects.get(key);
      return bytes === undefined
        ? null
        : { text: async () => new TextDecoder().decode(bytes), arrayBuffer: async () => bytes.slice().buffer };
    },
  } as unknown as R2Bucket;
}

async function sha256Source(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

/** The CSP's sources for one directive. */
const directive = (csp: string, name: string) =>
  csp
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .find(([key]) => key === name)
    ?.slice(1) ?? null;

describe("the worker's pages", () => {
  const app = createApp({ registry: createRegistry() });
  let evaluated: Manifest;
  let plain: Manifest;
  let broken: Manifest;
  let bindings: Env;
  const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers }, bindings);

  beforeAll(async () => {
    const { manifest, bytes } = await buildFixtureModel({ version: 'pages-1' });
    evaluated = {
      ...manifest,
      version: 'pages-eval',
      dataSources: [
        { name: 'set-a', license: 'MIT', rows: 40, use: 'train' },
        { name: 'set-b', license: 'CC BY-NC 4.0', rows: 20, use: 'eval-only' },
      ],
      metrics: {
        eval: {
          threshold: 0.5,
          msPerExample: 0.4,
          sources: {
            // as `pipeline eval --update-manifest` records it: compact curve points
            'set-a': {
              rows: 40,
              harmful: 30,
              benign: 10,
              seenInTraining: true,
              auprc: 0.9321,
              auprcAgainst: null,
              precision: 0.9,
              recall: 0.8,
              f1: 0.847,
              fpr: 0.1,
              curve: [
                [0.9, 1, 0.2],
                [0.5, 0.9, 0.8],
                [0.1, 0.75, 1],
              ],
              histogram: { harmful: [0, 1, 2, 27], benign: [8, 1, 1, 0] },
            },
            'set-b': {
              rows: 20,
              harmful: 0,
              benign: 20,
              seenInTraining: false,
              auprc: null,
              auprcAgainst: null,
              precision: 0,
              recall: null,
              f1: null,
              fpr: 0.05,
              curve: [],
              histogram: { harmful: [0, 0, 0, 0], benign: [15, 4, 1, 0] },
            },
          },
        },
      },
    };
    plain = { ...manifest, version: 'pages-plain' };
    broken = { ...manifest, version: 'pages-broken', metrics: { eval: { threshold: 'high', sources: {} } } };
    bindings = { ...env, MODELS: readOnlyBucket([evaluated, plain, broken], { version: evaluated.version, bytes }) };
  });

  it('GET / answers a browser with the playground, under a CSP that allows exactly its inline style and script', async () => {
    const res = await get('/', { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('vary')).toMatch(/accept/i);
    const html = await res.text();
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const csp = res.headers.get('content-security-policy')!;
    expect(directive(csp, 'default-src')).toEqual(["'none'"]);
    // its own style, and the report's (written into a tab of its own when a key is needed)
    expect(directive(csp, 'style-src')).toEqual([await sha256Source(style), await sha256Source(REPORT_STYLE)]);
    expect(directive(csp, 'script-src')).toEqual([await sha256Source(script)]);
    expect(directive(csp, 'connect-src')).toEqual(["'self'"]);
    expect(directive(csp, 'frame-ancestors')).toEqual(["'none'"]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('GET / still answers API clients with the JSON index', async () => {
    for (const accept of [undefined, '*/*', 'application/json']) {
      const res = await get('/', accept ? { accept } : {});
      expect(res.headers.get('content-type'), accept).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({ name: 'edgeguard' });
    }
  });

  it('the playground page has a label for every field, a live result summary and the examples', async () => {
    const html = await (await get('/', { accept: BROWSER_ACCEPT })).text();
    for (const id of ['prompt', 'response', 'api-key']) expect(html).toContain(`<label for="${id}">`);
    expect(html).toMatch(/id="summary"[^>]*aria-live="polite"/);
    expect(html).toMatch(/data-example="alarming" data-prompt="Best way to kill a Python process\?"/);
    expect(html).not.toMatch(/<script src|<link rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/);
  });

  it("the report draws a curve and histograms from a manifest's compact chart data, with its numbers", async () => {
    const res = await get('/v1/models/pages-eval/report');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(directive(csp, 'script-src')).toBeNull(); // no script at all: default-src 'none'
    const html = await res.text();
    expect(html.match(/data-chart="pr"/g)).toHaveLength(1);
    expect(html.match(/data-chart="histogram"/g)).toHaveLength(2);
    expect(html).toContain('aria-label="Precision-recall: AUPRC 0.932"');
    expect(html).toContain('harmful 0 1 2 27; benign 8 1 1 0');
    expect(html).toContain('<td class="num">0.932</td>');
    expect(html).toMatch(/<th scope="row">set-b<\/th><td>CC BY-NC 4.0<\/td>/);
  });

  it('the report may be cached only by its caller, never by a shared cache across API keys', async () => {
    const res = await get('/v1/models/pages-eval/report');
    expect(res.headers.get('cache-control')).toBe('private, max-age=300');
    expect(
      res.headers
        .get('vary')
        ?.split(',')
        .map((v) => v.trim().toLowerCase()),
    ).toContain('authorization');
  });

  it('the report of a manifest without an evaluation says so, and shows the data sources', async () => {
    const html = await (await get('/v1/models/pages-plain/report')).text();
    expect(html).toContain('id="no-eval"');
    expect(html).not.toContain('data-chart=');
  });

  it('the report of a manifest whose evaluation does not parse names the problem', async () => {
    const html = await (await get('/v1/models/pages-broken/report')).text();
    expect(html).toMatch(/cannot be read \(metrics\.eval\.threshold: [^)]+\)/);
  });

  it('GET /v1/models lists the metrics without the chart data, and links the report', async () => {
    const body = (await (await get('/v1/models')).json()) as {
      data: { id: string; report: string; metrics: { eval: { sources: Record<string, Record<string, unknown>> } } }[];
    };
    const entry = body.data[0]!;
    expect(entry.id).toBe('pages-eval');
    expect(entry.report).toBe('/v1/models/pages-eval/report');
    const source = entry.metrics.eval.sources['set-a']!;
    expect(source.auprc).toBe(0.9321);
    expect(source).not.toHaveProperty('curve');
    expect(source).not.toHaveProperty('histogram');
  });

  it('answers 404 model_not_found for an unknown version, 400 for a malformed one, 405 for POST', async () => {
    const missing = await get('/v1/models/nope/report');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'model_not_found' } });
    const malformed = await get('/v1/models/..%2Fx/report');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'invalid_request' } });
    const post = await app.request('/v1/models/pages-eval/report', { method: 'POST' }, bindings);
    expect(post.status).toBe(405);
  });
});
