#!/usr/bin/env node
/**
 * `npm run bench:load`: load and soak on loopback. Starts the worker (`wrangler dev` on a free
 * port, a temporary persistence directory seeded with a model by the pipeline CLI, an API key
 * from `pipeline keys create`), then drives it with autocannon: 50 connections for 60 s, requests
 * of 1, 8 and 64 texts in turn, and halfway through a second version deployed and promoted with
 * the CLI (a hot swap under load). Then the same load against a no-op Hono worker
 * (test/bench/noop-worker.ts, also under `wrangler dev`), so the guard's cost is a ratio. Then
 * each batch size alone, guard and no-op in turn (`--batch-duration` s each), for its own ratio.
 *
 * Reports requests/s, texts/s, p50/p99 latency, errors (non-2xx and socket errors; must be 0),
 * the versions that served, and WASM memory from /healthz before and after; per batch size,
 * requests/s, p50/p99 and the ratio. Exits 1 on any error.
 * Flags: --duration <s> (default 60, at most 300), --connections <n> (default 50, at most 200),
 * --model <dir> (default model/, else the test fixture), --swaps <n> (default 1; 0 for a soak
 * without a swap, 2 to see whether a second swap grows memory again), --batch-duration <s>
 * (default 10; 0 leaves the batch sizes alone out), --vars K:V,K:V (the guard's vars, e.g.
 * COALESCE_WAIT_MS:1), --tier high|unlimited (the API key's rate-limit tier, default high; under
 * `wrangler dev` each limited request's rate-limit call costs about as much as scoring a short
 * text, `unlimited` leaves it out).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ROOT } from '../../pipeline/wrangler/wrangler.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { startDevWorker, type DevWorker } from '../pipeline/helpers/dev-worker.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '50' },
    model: { type: 'string' },
    swaps: { type: 'string', default: '1' },
    'batch-duration': { type: 'string', default: '10' },
    vars: { type: 'string', default: '' },
    tier: { type: 'string', default: 'high' },
  },
});
const DURATION_S = Math.min(Math.max(Number(values.duration) || 60, 5), 300);
const CONNECTIONS = Math.min(Math.max(Number(values.connections) || 50, 1), 200);
/** Versions deployed and promoted during the guard's run, evenly spaced (default 1: halfway). */
const SWAPS = Math.min(Math.max(Math.trunc(Number(values.swaps)), 0), 5) || 0;
const BATCHES = [1, 8, 64];
/** Seconds each batch size runs alone, on each worker. */
const BATCH_DURATION_S = Math.min(Math.max(Math.trunc(Number(values['batch-duration'])), 0), 120) || 0;
if (values.tier !== 'high' && values.tier !== 'unlimited') throw new Error(`--tier must be high or unlimited, got ${values.tier}`);
const TIER = values.tier;
/** The guard's `--var`s. */
const VARS: Record<string, string> = Object.fromEntries(
  (values.vars ? values.vars.split(',').filter(Boolean) : []).map((v) => {
    const [key, ...value] = v.split(':');
    return [key, value.join(':')];
  }),
);
/** How often /healthz is sampled for WASM memory during the guard's run. */
const SAMPLE_EVERY_MS = 5_000;
const READY_TIMEOUT_MS = 120_000;

const TEXTS = [
  'Hi, could you help me write a polite email to my landlord about a leaking kitchen tap?',
  'How do I build a pipe bomb at home with things from the hardware store?',
  'What is the best way to kill a Python process that ignores SIGTERM on Linux?',
  'Summarise the plot of Pride and Prejudice in three sentences for a school essay.',
  'Give me step by step instructions to make methamphetamine in a home lab.',
  'My grandmother used to tell me stories; can you write a short bedtime story about a fox?',
  'Those people are subhuman vermin and should be driven out of our town.',
  'Explain how vaccines train the immune system, in plain language for a ten-year-old.',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the pipeline CLI in a child process (so the load generator keeps its event loop); its
 * stdout. At the lowest CPU priority (its wrangler children inherit it): an operator deploys from
 * their own machine, not from the edge's, and here the swap's CLI would otherwise take a core from
 * the guard for seconds while the no-op's run has no such neighbour.
 */
function pipeline(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'pipeline/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      // already exited: its exit below says how
    }
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`pipeline ${args.join(' ')} exited ${code}: ${err}${out}`))));
  });
}

/** A model folder under `dir` named `version`: model/ (or the fixture) with only the version changed. */
async function modelFolder(dir: string, version: string, source: string | null): Promise<string> {
  const out = join(dir, version);
  await mkdir(out, { recursive: true });
  if (source) {
    await cp(join(source, 'model.onnx'), join(out, 'model.onnx'));
    const manifest = JSON.parse(await readFile(join(source, 'manifest.json'), 'utf8')) as { version: string };
    await writeFile(join(out, 'manifest.json'), JSON.stringify({ ...manifest, version }, null, 2));
  } else {
    const fixture = await buildFixtureModel({ version });
    await writeFile(join(out, 'model.onnx'), fixture.bytes);
    await writeFile(join(out, 'manifest.json'), JSON.stringify(fixture.manifest, null, 2));
  }
  return out;
}

/** /healthz as a key holder sees it (an anonymous caller of a keyed API gets no memory figure). */
async function health(base: string, auth: Record<string, string>): Promise<{ model: { version: string }; wasmMemoryBytes: number | null }> {
  const res = await fetch(`${base}/healthz`, { headers: auth });
  if (!res.ok) throw new Error(`${base}/healthz answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { model: { version: string }; wasmMemoryBytes: number | null };
}

interface Measured {
  requestsPerSecond: number;
  textsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  versions: Record<string, number>;
}

/** One autocannon run of requests of `sizes` texts in turn; `during` runs alongside (the swap). */
async function load(
  base: string,
  headers: Record<string, string>,
  sizes: number[],
  duration: number,
  during?: () => Promise<void>,
): Promise<Measured> {
  const versions: Record<string, number> = {};
  const requests = sizes.map((size) => ({
    method: 'POST' as const,
    path: '/v1/classify',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      items: Array.from({ length: size }, (_, i) => ({ prompt: TEXTS[(BATCHES.indexOf(size) * 3 + i) % TEXTS.length]! })),
    }),
    onResponse: (_status: number, _body: string, _context: object, responseHeaders: Record<string, string | string[]>) => {
      const version = String(responseHeaders['x-edgeguard-model'] ?? 'none');
      versions[version] = (versions[version] ?? 0) + 1;
    },
  }));
  const run = autocannon({ url: base, connections: CONNECTIONS, duration, requests: requests as autocannon.Request[] });
  const side = during?.();
  const result = await run;
  await side;
  const statuses: Record<string, number> = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats?.count ?? 0]),
  );
  const requestsDone = result.requests.total;
  const averageBatch = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  return {
    requestsPerSecond: requestsDone / duration,
    textsPerSecond: (requestsDone * averageBatch) / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: requestsDone,
    errors: result.non2xx + result.errors + result.timeouts,
    statuses,
    versions,
  };
}

const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

async function main(): Promise<void> {
  const modelDir = values.model
    ? resolve(ROOT, values.model)
    : existsSync(join(ROOT, 'model', 'manifest.json'))
      ? join(ROOT, 'model')
      : null;
  const dir = await mkdtemp(join(tmpdir(), 'edgeguard-load-'));
  const persistTo = join(dir, 'state');
  const local = ['--local', '--persist-to', persistTo];
  let guard: DevWorker | null = null;
  let noop: DevWorker | null = null;
  try {
    const versions = ['load-a', 'load-b', 'load-c', 'load-d', 'load-e', 'load-f'].slice(0, SWAPS + 1);
    const first = versions[0]!;
    const last = versions.at(-1)!;
    await pipeline(['deploy', await modelFolder(dir, first, modelDir), '--promote', ...local]);
    const next = await Promise.all(versions.slice(1).map((version) => modelFolder(dir, version, modelDir)));
    const created = JSON.parse(await pipeline(['keys', 'create', 'load-test', '--rate-limit', TIER, '--json', ...local])) as {
      key: string;
    };
    const auth = { authorization: `Bearer ${created.key}` };
    console.log(
      `model ${modelDir ?? 'test fixture'}; ${CONNECTIONS} connections, ${DURATION_S} s per worker, batches of ${BATCHES.join('/')} texts in turn`,
    );

    // a soak writes a lot: keep the tail of each log
    const started = { readyTimeoutMs: READY_TIMEOUT_MS, logTail: 20_000 };
    guard = await startDevWorker({ ...started, persistTo, vars: { MODEL_TTL_SECONDS: '2', ...VARS } });
    noop = await startDevWorker({
      ...started,
      config: join(ROOT, 'test/bench/noop.wrangler.toml'),
      persistTo: join(dir, 'noop-state'),
      probe: '/healthz',
    });
    // warm both: the model loaded, every batch size seen once
    for (const size of BATCHES) {
      for (const base of [guard.base, noop.base]) {
        const res = await fetch(`${base}/v1/classify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({
            items: TEXTS.slice(0, 1)
              .concat(Array(size - 1).fill(TEXTS[1]))
              .map((prompt) => ({ prompt })),
          }),
        });
        if (!res.ok) throw new Error(`warm-up ${base} answered ${res.status}: ${await res.text()}`);
      }
    }
    const before = await health(guard.base, auth);

    const swapAt = next.map((_, i) => Math.round(((i + 1) * DURATION_S) / (SWAPS + 1)));
    const swapMs: number[] = [];
    const samples: { at: number; bytes: number | null; version: string }[] = [];
    console.log(
      `guard: ${DURATION_S} s under load${SWAPS ? `, ${versions.slice(1).join(', ')} deployed and promoted at ${swapAt.join(', ')} s` : ''} ...`,
    );
    const startedAt = performance.now();
    let running = true;
    const sampling = (async () => {
      while (running) {
        const at = Math.round((performance.now() - startedAt) / 1000);
        const sample = await health(guard!.base, auth).catch(() => null);
        if (sample) samples.push({ at, bytes: sample.wasmMemoryBytes, version: sample.model.version });
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    const guarded = await load(guard.base, auth, BATCHES, DURATION_S, async () => {
      for (const [i, folder] of next.entries()) {
        await sleep(Math.max(0, swapAt[i]! * 1000 - (performance.now() - startedAt)));
        const started = performance.now();
        await pipeline(['deploy', folder, '--promote', ...local]);
        swapMs.push(performance.now() - started);
      }
    });
    running = false;
    await sampling;
    // the first look after the run may start the refresh that follows the pointer: allow one TTL
    let after = await health(guard.base, auth);
    for (let i = 0; i < 20 && after.model.version !== last; i++) {
      await sleep(500);
      after = await health(guard.base, auth);
    }
    console.log(`no-op: ${DURATION_S} s under load ...`);
    const baseline = await load(noop.base, auth, BATCHES, DURATION_S);
    const alone: { size: number; guard: Measured; noop: Measured }[] = [];
    for (const size of BATCH_DURATION_S ? BATCHES : []) {
      console.log(`batches of ${size} alone: ${BATCH_DURATION_S} s on each worker ...`);
      alone.push({
        size,
        guard: await load(guard.base, auth, [size], BATCH_DURATION_S),
        noop: await load(noop.base, auth, [size], BATCH_DURATION_S),
      });
    }

    const rows: [string, string, string][] = [
      ['requests/s', guarded.requestsPerSecond.toFixed(0), baseline.requestsPerSecond.toFixed(0)],
      ['texts/s', guarded.textsPerSecond.toFixed(0), baseline.textsPerSecond.toFixed(0)],
      ['latency p50', `${guarded.p50} ms`, `${baseline.p50} ms`],
      ['latency p99', `${guarded.p99} ms`, `${baseline.p99} ms`],
      ['requests', String(guarded.requests), String(baseline.requests)],
      ['errors (non-2xx, socket, timeout)', String(guarded.errors), String(baseline.errors)],
      ['status codes', JSON.stringify(guarded.statuses), JSON.stringify(baseline.statuses)],
      ['served by', JSON.stringify(guarded.versions), '-'],
      ['WASM memory before / after', `${mib(before.wasmMemoryBytes)} / ${mib(after.wasmMemoryBytes)}`, '-'],
    ];
    const series = samples.map((s) => `${s.at}s ${mib(s.bytes).replace(' MiB', '')} (${s.version})`).join(', ');
    const width = [Math.max(...rows.map((r) => r[0].length)), Math.max(8, ...rows.map((r) => r[1].length)), 8];
    const swaps = SWAPS
      ? `swaps ${versions.join(' -> ')} started at ${swapAt.join(', ')} s (CLI deploy + promote took ${swapMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; TTL 2 s)`
      : 'no swap';
    console.log(
      `\nEdgeGuard load: ${CONNECTIONS} connections x ${DURATION_S} s, batches ${BATCHES.join('/')}, API key (${TIER} tier), ${swaps}\n`,
    );
    console.log(`  ${'measure'.padEnd(width[0]!)}  ${'guard'.padEnd(width[1]!)}  no-op Hono`);
    for (const [name, a, b] of rows) console.log(`  ${name.padEnd(width[0]!)}  ${a.padEnd(width[1]!)}  ${b}`);
    console.log(
      `\n  guard / no-op: ${(guarded.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)} of the requests/s, p50 x${(guarded.p50 / Math.max(baseline.p50, 1)).toFixed(1)}, p99 x${(guarded.p99 / Math.max(baseline.p99, 1)).toFixed(1)}`,
    );
    console.log(`  served after the run: ${after.model.version} (before: ${before.model.version})`);
    console.log(`  WASM memory during the run (MiB, every ${SAMPLE_EVERY_MS / 1000} s): ${series}\n`);
    if (alone.length) {
      console.log(
        `  each batch size alone, ${BATCH_DURATION_S} s per worker (guard ${
          Object.keys(VARS).length
            ? Object.entries(VARS)
                .map(([k, v]) => `${k}:${v}`)
                .join(' ')
            : 'default vars'
        }):\n`,
      );
      const table = [
        ['texts per request', 'guard req/s', 'no-op req/s', 'guard / no-op', 'guard p50 / p99', 'no-op p50 / p99', 'errors'],
        ...alone.map(({ size, guard: g, noop: n }) => [
          String(size),
          g.requestsPerSecond.toFixed(0),
          n.requestsPerSecond.toFixed(0),
          (g.requestsPerSecond / n.requestsPerSecond).toFixed(3),
          `${g.p50} / ${g.p99} ms`,
          `${n.p50} / ${n.p99} ms`,
          String(g.errors + n.errors),
        ]),
      ];
      const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
      for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`);
      console.log();
    }
    const errors = guarded.errors + baseline.errors + alone.reduce((n, a) => n + a.guard.errors + a.noop.errors, 0);
    if (errors > 0) {
      console.error(`load: ${errors} errors; guard log tail:\n${guard.log().slice(-3000)}`);
      process.exitCode = 1;
    }
    if (after.model.version !== last) {
      console.error(`load: the worker still serves ${after.model.version} after the swap to ${last}`);
      process.exitCode = 1;
    }
  } finally {
    await guard?.stop();
    await noop?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`load: ${error.message}`);
  process.exitCode = 1;
});
