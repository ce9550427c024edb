/**
 * The playground's weight and speed as a browser sees them: bytes transferred (headers and body,
 * as compressed on the wire, from Chromium's own network events) for the page and for its API
 * calls, and the time from clicking an example to the result on screen (the page's
 * `edgeguard:result` performance measure).
 */
import type { BrowserContext } from 'playwright-core';

export interface PageFigures {
  /** Bytes transferred for the page and its assets (everything but API calls). */
  pageBytes: number;
  /** Requests for the page and its assets. */
  requests: number;
  /** The HTML document, decoded. */
  htmlBytes: number;
  /** Bytes transferred for API calls until the first result (GET /v1/models, POST /v1/classify). */
  apiBytes: number;
  /** From navigation start until the page shows the model (on a cold worker, includes loading it). */
  readyMs: number;
  /** From the click on an example to the result rendered, in milliseconds. */
  firstResultMs: number;
}

/**
 * Loads the playground in a fresh tab with the cache disabled, waits until it shows the model,
 * clicks the harmful example and measures.
 */
export async function measurePage(context: BrowserContext, base: string, example = 'harmful'): Promise<PageFigures> {
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const urls = new Map<string, string>();
    const bytes = new Map<string, number>();
    cdp.on('Network.requestWillBeSent', (event) => urls.set(event.requestId, event.request.url));
    cdp.on('Network.loadingFinished', (event) => bytes.set(event.requestId, event.encodedDataLength));
    const response = await page.goto(`${base}/`);
    const htmlBytes = (await response!.body()).length;
    await page.waitForFunction(() => document.getElementById('model-version')?.textContent !== '…', null, { timeout: 60_000 });
    const readyMs = await page.evaluate(() => performance.now());
    await page.locator(`[data-example="${example}"]`).click();
    const firstResultMs = await page
      .waitForFunction(() => performance.getEntriesByName('edgeguard:result')[0]?.duration)
      .then((handle) => handle.jsonValue() as Promise<number>);
    let pageBytes = 0;
    let apiBytes = 0;
    let requests = 0;
    for (const [id, url] of urls) {
      const transferred = bytes.get(id) ?? 0;
      if (new URL(url).pathname.startsWith('/v1/')) {
        apiBytes += transferred;
      } else {
        pageBytes += transferred;
        requests++;
      }
    }
    return { pageBytes, requests, htmlBytes, apiBytes, readyMs, firstResultMs };
  } finally {
    await page.close();
  }
}
