#!/usr/bin/env node
/**
 * `npm run bench`: latency and footprint of the worker, measured against a local `wrangler dev`.
 * By default it starts its own (`npm start` on a free port, so the first request really is the
 * first), or measures a running one with `--url http://127.0.0.1:8787` (loopback only).
 *
 * Reports: the first request after start (module load, then ORT start-up + model load), p50/p99
 * of one classification of a 500-character prompt (inside the worker from `server-timing`, and
 * the loopback round trip), that prompt's share of a request of 64 copies of it inside the worker
 * (where the 1 ms clock reads to 1/64 ms), the WASM memory in use (/healthz), and the upload
 * size from `wrangler deploy --dry-run`. `--model <dir>` seeds another model folder (default
 * model/).
 *
 * workerd's clock moves in whole milliseconds (deployed Workers move it only at I/O), so the
 * in-worker figures of one text have 1 ms resolution; next to them, the scoring stages timed in Node with the same code and WASM
 * (stages/stages.ts: featurize, a run alone, per text in calls of 8 and 64, 64 concurrent calls).
 * `--skip-stages` leaves those out.
 *
 * Then the cascade (cascade.ts): the share of alpaca-eval and of the harmful-request sets of
 * `--data` (default ../shared/data) each band sends to the teacher and the band it recommends,
 * and, with a second worker whose teacher answers in `--teacher-ms` (300), the escalated share,
 * p50/p99 and teacher calls per 1,000 requests at `--band` (default: the worker's default
 * ESCALATE_BAND). `--skip-cascade` leaves it out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, dryRun } from '../../pipeline/wrangler/wrangler.ts';
import { DEFAULT_ESCALATE_BAND } from '../../src/guard/cascade-config.ts';
import { freePort } from '../pipeline/helpers/dev-worker.ts';
import { benchCascade, type Band } from './cascade.ts';
import { BENCH_PROMPT } from './prompt.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    model: { type: 'string', default: 'model' },
    requests: { type: 'string', default: '300' },
    data: { type: 'string', default: '../shared/data' },
    band: { type: 'string', default: DEFAULT_ESCALATE_BAND },
    'teacher-ms': { type: 'string', default: '300' },
    'cascade-requests': { type: 'string', default: '300' },
    'skip-cascade': { type: 'boolean', default: false },
    'skip-stages': { type: 'boolean', default: false },
  },
});
const REQUESTS = Math.min(Math.max(Number(values.requests) || 300, 10), 5000);
const BAND = values.band.split(',').map(Number) as unknown as Band;
if (BAND.length !== 2 || !(BAND[0] >= 0 && BAND[0] <= BAND[1] && BAND[1] <= 1))
  throw new Error(`--band must be "lo,hi" with 0 <= lo <= hi <= 1, got ${values.band}`);
const WARM_UP = 20;
/** Texts per request, and requests, of the batched in-worker measure. */
const BATCH = 64;
const BATCH_REQUESTS = 60;
const READY_TIMEOUT_MS = 120_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

async function waitReady(base: string, server: ChildProcess | null): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server && server.exitCode !== null) throw new Error(`the worker exited with code ${server.exitCode}`);
    try {
      // GET / answers without touching the model
      if ((await fetch(`${base}/`, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the worker at ${base} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Sum of the server-timing durations named `names`, in ms. */
function serverMs(response: Response, names: string[]): number {
  const header = response.headers.get('server-timing') ?? '';
  let total = 0;
  for (const entry of header.split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.find((p) => p.startsWith('dur='));
    if (name && names.includes(name) && dur) total += Number(dur.slice(4));
  }
  return total;
}

/** The bench prompt alone, or `batch` copies of it as items of one request. */
async function classify(base: string, batch = 0): Promise<{ clientMs: number; response: Response }> {
  const body = batch > 0 ? { items: Array.from({ length: batch }, () => ({ prompt: BENCH_PROMPT })) } : { prompt: BENCH_PROMPT };
  const started = performance.now();
  const response = await fetch(`${base}/v1/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`POST /v1/classify answered ${response.status}`);
  return { clientMs: performance.now() - started, response };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** `npm start` on a free port with `--model` and these worker vars, in its own process group. */
async function startLocal(vars: Record<string, string> = {}): Promise<{ base: string; server: ChildProcess }> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [join(ROOT, 'pipeline/dev/start.ts'), '--model', values.model, ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
    {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    },
  );
  return { base: `http://127.0.0.1:${port}`, server };
}

/**
 * The scoring stages timed in Node (stages/stages.ts), in a process of their own: its own
 * tsconfig (it loads the worker's runtime), and no wrangler sharing its event loop.
 */
function stages(): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'test/bench/stages/stages.ts'), '--model', values.model], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`the stage benchmark exited with code ${code}`))));
  });
}

/** Ends a server started by startLocal: its process group (wrangler dev + workerd) only. */
async function stopLocal(server: ChildProcess): Promise<void> {
  if (!server.pid || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  process.kill(-server.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
}

async function main(): Promise<void> {
  let base = values.url;
  let server: ChildProcess | null = null;
  if (base) {
    if (!LOOPBACK.has(new URL(base).hostname)) throw new Error(`--url must be a loopback address, got ${base}`);
    base = base.replace(/\/+$/, '');
  } else {
    ({ base, server } = await startLocal());
  }
  try {
    const startedAt = performance.now();
    await waitReady(base, server);
    const readyMs = performance.now() - startedAt;
    const first = await classify(base);
    const firstLoadMs = serverMs(first.response, ['load']);
    for (let i = 0; i < WARM_UP; i++) await classify(base);
    const inside: number[] = [];
    const roundTrip: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const { clientMs, response } = await classify(base);
      inside.push(serverMs(response, ['featurize', 'inference']));
      roundTrip.push(clientMs);
    }
    // 64 texts in one request: the worker's 1 ms clock then reads a text's share to 1/64 ms
    const perTextInBatch: number[] = [];
    for (let i = 0; i < WARM_UP; i++) await classify(base, BATCH);
    for (let i = 0; i < BATCH_REQUESTS; i++) {
      const { response } = await classify(base, BATCH);
      perTextInBatch.push(serverMs(response, ['featurize', 'inference']) / BATCH);
    }
    inside.sort((a, b) => a - b);
    roundTrip.sort((a, b) => a - b);
    perTextInBatch.sort((a, b) => a - b);
    const health = (await (await fetch(`${base}/healthz`)).json()) as { model: { version: string }; wasmMemoryBytes: number };
    const bundle = dryRun();

    const rows: [string, string][] = [
      ['model', health.model.version],
      ['prompt', `${BENCH_PROMPT.length} characters, ${REQUESTS} sequential requests after ${WARM_UP} warm-up`],
      [
        'classification inside the worker p50 / p99',
        `${quantile(inside, 0.5).toFixed(1)} / ${quantile(inside, 0.99).toFixed(1)} ms (server-timing featurize + inference, 1 ms resolution: see the Node stages)`,
      ],
      [
        `inside the worker, per text of a call of ${BATCH} p50 / p99`,
        `${quantile(perTextInBatch, 0.5).toFixed(3)} / ${quantile(perTextInBatch, 0.99).toFixed(3)} ms (${BATCH_REQUESTS} requests after ${WARM_UP} warm-up)`,
      ],
      ['loopback round trip p50 / p99', `${quantile(roundTrip, 0.5).toFixed(2)} / ${quantile(roundTrip, 0.99).toFixed(2)} ms`],
      ['first classification after start', `${first.clientMs.toFixed(0)} ms (ORT start-up + model load: ${firstLoadMs.toFixed(0)} ms)`],
      ...(server
        ? ([['start to ready (seed R2 + wrangler dev + first GET /)', `${(readyMs / 1000).toFixed(1)} s`]] as [string, string][])
        : []),
      ['WASM memory in use', `${(health.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB`],
      ['upload (wrangler deploy --dry-run)', `${(bundle.totalKiB / 1024).toFixed(2)} MiB, gzip ${(bundle.gzipKiB / 1024).toFixed(2)} MiB`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nEdgeGuard bench (${base})\n`);
    for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${value}`);
    console.log();
  } finally {
    if (server) await stopLocal(server);
  }
  if (!values['skip-stages']) await stages();
  if (values['skip-cascade']) return;
  const startWorker = async (vars: Record<string, string>) => {
    const local = await startLocal(vars);
    await waitReady(local.base, local.server);
    return { base: local.base, stop: () => stopLocal(local.server) };
  };
  await benchCascade({
    modelDir: resolve(ROOT, values.model),
    dataDir: resolve(values.data),
    band: BAND,
    requests: Math.min(Math.max(Number(values['cascade-requests']) || 300, 10), 5000),
    teacherMs: Math.max(Number(values['teacher-ms']) || 0, 0),
    startWorker: values.url ? null : startWorker,
  });
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
});
