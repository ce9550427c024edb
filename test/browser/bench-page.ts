#!/usr/bin/env node
/**
 * `npm run bench:page`: the playground's weight and speed in Chromium against the real worker
 * (`wrangler dev`, loopback only, seeded with model/ as `npm start` does; `--url <base>` measures a
 * running one instead). Bytes transferred for the page and for its API calls, time from navigation
 * to the model shown, and time from clicking an example to its result: on a fresh worker first
 * (the page load pays for loading the model), then the median of `--runs` fresh tabs.
 */
import { parseArgs } from 'node:util';
import { CHROMIUM, launchBrowser, shippedOrFixture, startWorker, type Worker } from './harness.ts';
import { measurePage, type PageFigures } from './measure.ts';

const { values } = parseArgs({ options: { url: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!CHROMIUM) {
  console.error('bench:page: no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set EDGEGUARD_CHROMIUM=<path>)');
  process.exit(1);
}
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:page: --runs must be a whole number >= 1, got '${values.runs}'`);
  process.exit(1);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const row = (name: string, f: PageFigures) =>
  `${name.padEnd(26)} ${String(f.pageBytes).padStart(7)} B  ${String(f.htmlBytes).padStart(7)} B  ${String(f.apiBytes).padStart(7)} B  ${f.readyMs.toFixed(0).padStart(7)} ms  ${f.firstResultMs.toFixed(0).padStart(7)} ms`;

let worker: Worker | null = null;
const browser = await launchBrowser();
try {
  let base = values.url;
  let label = 'running worker';
  if (!base) {
    const model = await shippedOrFixture();
    worker = await startWorker([model]);
    base = worker.base;
    label = `model ${model.manifest.version}`;
  }
  const first = await measurePage(browser.context, base);
  const rest: PageFigures[] = [];
  for (let i = 0; i < runs; i++) rest.push(await measurePage(browser.context, base));
  const med = Object.fromEntries(
    Object.keys(first).map((key) => [key, median(rest.map((f) => f[key as keyof PageFigures]))]),
  ) as unknown as PageFigures;
  console.log(`playground at ${base} (${label}), Chromium headless, cache disabled`);
  console.log(
    `${''.padEnd(26)} ${'page'.padStart(9)}  ${'HTML'.padStart(9)}  ${'API'.padStart(9)}  ${'ready'.padStart(10)}  ${'result'.padStart(10)}`,
  );
  console.log(row(worker ? 'first visit, fresh worker' : 'first visit', first));
  console.log(row(`median of ${runs} visits`, med));
  console.log('page: bytes transferred for the page and its assets (one request: CSS, script and icon are inline); HTML: decoded;');
  console.log('API: GET /v1/models + POST /v1/classify; ready: navigation to model shown; result: click on an example to result shown.');
} finally {
  await browser.close();
  await worker?.stop();
}
