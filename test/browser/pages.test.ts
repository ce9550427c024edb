/**
 * The playground and the model report in a real browser (Debian's Chromium, headless) against the
 * real worker under `wrangler dev`, seeded as `npm start` seeds it: the shipped model (model/, or
 * the fixture before one exists) as current, plus a copy evaluated by `pipeline eval
 * --update-manifest` on a small labelled set, so one manifest surely carries curves and
 * histograms. Screenshots and the page's weight and time to first result go to
 * test-results/browser/. Skips, saying why, when no Chromium is installed.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/guard/manifest.ts';
import { evalMetricsOf } from '../../src/report/eval-metrics.ts';
import { writeTinyData } from '../pipeline/helpers/tiny-data.ts';
import {
  ARTIFACTS,
  CHROMIUM,
  evaluatedCopy,
  launchBrowser,
  shippedOrFixture,
  startWorker,
  type ModelFiles,
  type Worker,
} from './harness.ts';
import { measurePage } from './measure.ts';

if (!CHROMIUM) {
  console.warn('test/browser: SKIPPED, no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set EDGEGUARD_CHROMIUM=<path>)');
}

const HARMFUL = 'How do I build a pipe bomb?';
const BENIGN = 'What is a good recipe for banana bread?';

describe.skipIf(!CHROMIUM)('the playground and the model report in Chromium', () => {
  let worker: Worker;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let current: ModelFiles;
  let evaluated: ModelFiles & { reportFile: string };
  /** Console errors and uncaught exceptions of every page, CSP violations included. */
  const pageErrors: string[] = [];

  async function openPage(path = '/', viewport = { width: 1200, height: 860 }): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    page.on('console', (message) => {
      // the 401s of the API-key test are the point of it
      if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    if (path) await page.goto(`${worker.base}${path}`);
    return page;
  }

  /** What the API itself answers for an input: the page must show the same. */
  async function apiVerdict(prompt: string, response?: string): Promise<{ score: number; flagged: boolean }> {
    const res = await fetch(`${worker.base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(response ? { prompt, response } : { prompt }),
    });
    return ((await res.json()) as { results: { score: number; flagged: boolean }[] }).results[0]!;
  }

  async function shownResult(page: Page) {
    await page.locator('#result:not(.empty)[aria-busy="false"]').waitFor();
    return {
      decision: await page.locator('#decision').textContent(),
      score: Number(await page.locator('#score').textContent()),
      summary: await page.locator('#summary').textContent(),
      version: await page.locator('#result-version').textContent(),
    };
  }

  /** How many results the page has shown (its `edgeguard:result` performance measures). */
  const resultsShown = (page: Page) => page.evaluate(() => performance.getEntriesByName('edgeguard:result').length);

  /** Waits until the page shows the model (the first load may include loading it into the worker). */
  const modelShown = (page: Page) =>
    page.waitForFunction((version) => document.getElementById('model-version')?.textContent === version, current.manifest.version, {
      timeout: 30_000,
    });

  const screenshot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const shipped = await shippedOrFixture();
    current = shipped;
    const { dir, data } = await writeTinyData();
    const copy = await evaluatedCopy(shipped, 'browser-eval', data, 'tiny-benign', dir);
    evaluated = { ...copy, reportFile: join(dir, 'browser-eval', 'eval', 'report.html') };
    worker = await startWorker([current, evaluated]);
    browser = await launchBrowser();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
  });

  describe('the playground', () => {
    it('is what a browser gets at /, under a CSP that allows only its own inline style and script', async () => {
      const res = await fetch(`${worker.base}/`, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'sha256-[^']+'(;|$)/);
      expect(csp).toMatch(/connect-src 'self'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      const api = await fetch(`${worker.base}/`);
      expect(await api.json()).toMatchObject({ name: 'edgeguard' });
    });

    it('shows the model version and threshold once loaded', async () => {
      const page = await openPage();
      await modelShown(page);
      expect(await page.locator('#model-threshold').textContent()).toBe(current.manifest.threshold.toFixed(3));
      await page.close();
    });

    it("flags a typed harmful prompt, with the API's score, and draws a bar per category", async () => {
      const page = await openPage();
      await page.getByLabel('Prompt', { exact: true }).fill(HARMFUL);
      await page.getByRole('button', { name: 'Classify' }).click();
      const shown = await shownResult(page);
      const api = await apiVerdict(HARMFUL);
      expect(api.flagged).toBe(true);
      expect(shown.decision).toBe('Flagged');
      expect(shown.score).toBeCloseTo(api.score, 3);
      expect(shown.summary).toMatch(/^Flagged: P\(harmful\) /);
      expect(shown.version).toBe(current.manifest.version);
      const rows = page.locator('#categories .cat');
      // one bar per category the model reports (labels mapped to OpenAI keys; 2.0 keeps violence/graphic out)
      const reported = current.manifest.labels.slice(1).filter((label) => current.manifest.openaiCategories[label]?.length);
      expect(await rows.count()).toBe(reported.length);
      const fill = await page.locator('#score-bar .fill').boundingBox();
      const track = await page.locator('#score-bar').boundingBox();
      expect(fill!.width / track!.width).toBeCloseTo(api.score, 1);
      for (const row of await rows.all()) expect(await row.locator('.bar').isVisible()).toBe(true);
      expect(await page.locator('#latency').textContent()).toMatch(/^\d+ ms round trip$/);
      expect(await page.locator('#curl').textContent()).toContain('/v1/classify');
      await screenshot(page, 'playground-harmful');
      await page.close();
    });

    it('allows a typed benign prompt', async () => {
      const page = await openPage();
      await page.getByLabel('Prompt', { exact: true }).fill(BENIGN);
      await page.getByLabel('Prompt', { exact: true }).press('Control+Enter');
      const shown = await shownResult(page);
      expect((await apiVerdict(BENIGN)).flagged).toBe(false);
      expect(shown.decision).toBe('Allowed');
      await screenshot(page, 'playground-benign');
      await page.close();
    });

    it('runs each ready-made example in one click and shows what the API answers for it', async () => {
      const page = await openPage();
      const buttons = page.locator('[data-example]');
      expect(await buttons.count()).toBeGreaterThanOrEqual(4);
      for (const button of await buttons.all()) {
        const prompt = (await button.getAttribute('data-prompt'))!;
        const response = (await button.getAttribute('data-response')) ?? undefined;
        const before = await resultsShown(page);
        await button.click();
        await page.waitForFunction((n) => performance.getEntriesByName('edgeguard:result').length > n, before, { timeout: 15_000 });
        const shown = await shownResult(page);
        const api = await apiVerdict(prompt, response);
        expect(shown.decision, `${await button.textContent()}`).toBe(api.flagged ? 'Flagged' : 'Allowed');
        expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(prompt);
      }
      await page.close();
    });

    it('works by keyboard and fits a phone screen', async () => {
      const page = await openPage('/', { width: 390, height: 844 });
      await modelShown(page);
      let focused = '';
      for (let i = 0; i < 12 && focused !== 'benign'; i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.example ?? '');
      }
      expect(focused).toBe('benign');
      expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
      await page.keyboard.press('Enter');
      expect((await shownResult(page)).decision).toBe('Allowed');
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await screenshot(page, 'playground-phone', true);
      await page.close();
    });

    it('asks for an API key on a 401, sends it as a Bearer header, and stores it nowhere', async () => {
      const page = await openPage('');
      const seen: (string | undefined)[] = [];
      // The worker runs open here; the browser plays a server with keys.
      await page.route('**/v1/**', async (route) => {
        const auth = route.request().headers().authorization;
        seen.push(auth);
        if (auth !== 'Bearer eg-test-key') {
          await route.fulfill({
            status: 401,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'missing_api_key', message: 'send your API key as Authorization: Bearer <key>' } }),
          });
          return;
        }
        await route.continue();
      });
      await page.goto(`${worker.base}/`);
      await page.locator('#key-form').waitFor();
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('api-key');
      await screenshot(page, 'playground-key');
      await page.getByLabel('API key').fill('eg-test-key');
      await page.getByLabel('API key').press('Enter');
      await modelShown(page);
      await page.locator('[data-example="harmful"]').click();
      expect((await shownResult(page)).decision).toBe('Flagged');
      expect(seen.at(-1)).toBe('Bearer eg-test-key');
      const kept = await page.evaluate(() => ({
        storage: localStorage.length + sessionStorage.length,
        cookie: document.cookie,
        inPage: document.documentElement.outerHTML.includes('eg-test-key'),
      }));
      expect(kept).toEqual({ storage: 0, cookie: '', inPage: false });
      expect(await page.locator('#curl').textContent()).toContain('Bearer $EDGEGUARD_API_KEY');
      // the report is behind the key too: the page fetches it with the key into a new tab
      const [tab] = await Promise.all([context.waitForEvent('page'), page.locator('#report-link').click()]);
      tab.on('console', (message) => void (message.type() === 'error' && pageErrors.push(`report tab: ${message.text()}`)));
      await tab.locator('h1', { hasText: current.manifest.version }).waitFor();
      // styled: the playground's CSP, which the tab inherits, allows the report's style
      expect(await tab.evaluate(() => getComputedStyle(document.querySelector('.facts div')!).borderTopStyle)).toBe('solid');
      expect(await tab.locator('#sources-table tbody tr').count()).toBe(current.manifest.dataSources.length);
      expect(seen.at(-1)).toBe('Bearer eg-test-key');
      await tab.close();
      await page.close();
    });

    it('loads light and answers fast (page weight, time to first result)', async () => {
      const figures = await measurePage(context, worker.base);
      console.log(
        `playground: page ${figures.pageBytes} B transferred (${figures.requests} requests, ${figures.htmlBytes} B of HTML decoded), API calls ${figures.apiBytes} B; time to first result ${figures.firstResultMs.toFixed(0)} ms`,
      );
      await writeFile(join(ARTIFACTS, 'playground-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
      expect(figures.requests).toBe(1); // the document only: CSS, script and icon are inline
      expect(figures.pageBytes).toBeLessThan(16_000);
      expect(figures.firstResultMs).toBeLessThan(5_000);
    });
  });

  describe('the model report', () => {
    const reportOf = async (manifest: Manifest) => {
      const page = await openPage(`/v1/models/${manifest.version}/report`, { width: 1200, height: 900 });
      return page;
    };

    it("shows the per-data-set table with the manifest's numbers, and the data sources with licences", async () => {
      const { manifest } = current;
      const page = await reportOf(manifest);
      expect(await page.locator('h1').textContent()).toContain(manifest.version);
      const ev = evalMetricsOf(manifest.metrics).eval;
      if (ev) {
        for (const [name, m] of Object.entries(ev.sources)) {
          const cells = await page.locator(`#metrics-table tr[data-source="${name}"] td`).allTextContents();
          expect(cells[1]).toBe(m.rows.toLocaleString('en-US'));
          expect(cells[4]).toContain(m.auprc === null ? '–' : m.auprc.toFixed(3));
        }
      } else {
        await page.locator('#no-eval').waitFor();
      }
      const licences = await page
        .locator('#sources-table tbody tr')
        .evaluateAll((rows) => rows.map((row) => [row.querySelector('th')!.textContent, row.querySelector('td')!.textContent]));
      expect(licences).toEqual(manifest.dataSources.map((s) => [s.name, s.license]));
      await screenshot(page, 'report-current', true);
      await page.close();
    });

    it("draws precision-recall curves and score histograms that carry the manifest's numbers", async () => {
      const { manifest } = evaluated;
      const ev = evalMetricsOf(manifest.metrics).eval!;
      expect(Object.values(ev.sources).some((m) => m.curve.length > 0)).toBe(true);
      const page = await reportOf(manifest);
      await page.locator('details').evaluateAll((all) => all.forEach((details) => ((details as HTMLDetailsElement).open = true)));
      for (const [name, m] of Object.entries(ev.sources)) {
        const card = page.locator(`section.card[data-source="${name}"]`);
        const pr = card.locator('svg[data-chart="pr"]');
        if (m.curve.length) {
          expect(await pr.getAttribute('aria-label')).toContain(`AUPRC ${m.auprc!.toFixed(3)}`);
          expect(await pr.locator('desc').textContent()).toContain(`${m.curve.length} points`);
          const box = await pr.locator('path[stroke-width="2"]').boundingBox();
          expect(box!.width).toBeGreaterThan(10);
        } else {
          expect(await pr.count()).toBe(0);
        }
        const histogram = card.locator('svg[data-chart="histogram"]');
        expect(await histogram.getAttribute('aria-label')).toContain(`threshold ${ev.threshold.toFixed(3)}`);
        const desc = await histogram.locator('desc').textContent();
        if (m.harmful) expect(desc).toContain(`harmful ${m.histogram!.harmful.join(' ')}`);
        if (m.benign) expect(desc).toContain(`benign ${m.histogram!.benign.join(' ')}`);
        expect(await histogram.locator('path[stroke-dasharray]').count()).toBe(1);
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await screenshot(page, 'report-evaluated', true);
      await page.close();
    });

    it('pipeline eval writes the same page as report.html', async () => {
      const html = await readFile(evaluated.reportFile, 'utf8');
      const served = await (await fetch(`${worker.base}/v1/models/${evaluated.manifest.version}/report`)).text();
      const charts = (text: string) => text.match(/data-chart="\w+"/g)?.length ?? 0;
      expect(charts(html)).toBe(charts(served));
      expect(charts(html)).toBeGreaterThan(0);
    });

    it('answers 404 model_not_found for a version that is not deployed', async () => {
      const res = await fetch(`${worker.base}/v1/models/no-such-version/report`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    });
  });

  it('no page logged an error or a CSP violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
