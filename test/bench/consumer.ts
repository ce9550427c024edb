#!/usr/bin/env node
/**
 * `npm run bench:consumer`: what EdgeGuard costs an app that uses the package, by path. It packs
 * and installs the package into the example consumer (test/package/harness.ts), runs EdgeGuard and
 * the consumers in one workerd with the shipped model (model/, or `--model <dir>`), and a local
 * OpenAI-compatible upstream, then measures from Node, route against route:
 *
 * - the bundles: `wrangler deploy --dry-run` of EdgeGuard and of each consumer;
 * - a guarded request: median time of a chat completion through `guard()` (service binding, HTTP
 *   API on loopback, in-process) minus the same handler unguarded;
 * - a streamed answer: median time of a 2,000-character answer in 12-character chunks through
 *   `moderateResponses` (a check every 100 characters) minus unguarded, per chunk and per check.
 *
 * All on one machine: the HTTP path's "network" is loopback; over the internet, add the round trip
 * to the EdgeGuard worker (a service binding has none).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TestHarness } from 'wrangler';
import { KeyRecordSchema, generateApiKey, hashApiKey, keyRecordKey } from '../../src/auth/key-record.ts';
import { MODEL_KEYS, ManifestSchema } from '../../src/guard/manifest.ts';
import { chatStreamEvents } from '../fixtures/chat-stream.ts';
import { ROOT, packAndInstall, startSseUpstream, startWorkers } from '../package/harness.ts';
import { BENCH_PROMPT } from './prompt.ts';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'model' }, requests: { type: 'string', default: '200' } } });
const REQUESTS = Math.min(Math.max(Number(values.requests) || 200, 20), 2000);
const STREAMS = Math.max(10, Math.round(REQUESTS / 5));
const WARM_UP = 20;
const CHECK_EVERY = 100;
const CHUNK = 12;

const PROMPT = BENCH_PROMPT; // as `npm run bench` sends
const ANSWER = 'Here is a simple layout: one row per order, with columns for the customer, the items, the pickup time and a paid box. '
  .repeat(20)
  .slice(0, 2_000);

const ROUTES = [
  { name: 'unguarded (the same handler)', worker: 'consumer', path: '/plain/v1/chat/completions' },
  { name: 'guard() through the service binding', worker: 'consumer', path: '/binding/v1/chat/completions' },
  { name: 'guard() over the HTTP API (loopback)', worker: 'consumer', path: '/http/v1/chat/completions' },
  { name: 'guard() in-process', worker: 'consumer-in-process', path: '/v1/chat/completions' },
] as const;

type Store = { put(key: string, value: string | Uint8Array): Promise<unknown> };

/** The model folder into EdgeGuard's and the in-process consumer's buckets, and an API key (unlimited tier). */
function seedFrom(dir: string) {
  return async (harness: TestHarness): Promise<string> => {
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
    for (const name of ['edgeguard', 'consumer-in-process']) {
      const { MODELS } = await harness.getWorker<{ MODELS: Store }>(name).getEnv();
      await MODELS.put(MODEL_KEYS.model(manifest.version), bytes);
      await MODELS.put(MODEL_KEYS.manifest(manifest.version), JSON.stringify(manifest));
      await MODELS.put(MODEL_KEYS.pointer, JSON.stringify({ version: manifest.version }));
    }
    const key = generateApiKey();
    const { API_KEYS } = await harness.getWorker<{ API_KEYS: Store }>('edgeguard').getEnv();
    await API_KEYS.put(
      keyRecordKey(await hashApiKey(key)),
      JSON.stringify(
        KeyRecordSchema.parse({ schemaVersion: 1, name: 'bench', createdAt: new Date().toISOString(), rateLimit: 'unlimited' }),
      ),
    );
    return key;
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kib = (value: number) => (value >= 1024 ? `${(value / 1024).toFixed(2)} MiB` : `${value.toFixed(1)} KiB`);

async function main(): Promise<void> {
  const model = resolve(ROOT, values.model!);
  const installed = packAndInstall();
  const upstream = await startSseUpstream();
  try {
    const { harness } = await startWorkers(installed, upstream.url, seedFrom(model));
    try {
      /** One chat completion through a route, read to its end; its time in ms. */
      const timed = async (route: (typeof ROUTES)[number], stream: boolean): Promise<number> => {
        const started = performance.now();
        const response = await harness.getWorker(route.worker).fetch(`http://consumer.test${route.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-test', stream, messages: [{ role: 'user', content: PROMPT }] }),
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`${route.path} answered ${response.status}: ${text.slice(0, 300)}`);
        return performance.now() - started;
      };
      const measure = async (stream: boolean, runs: number) => {
        const times = new Map<string, number[]>(ROUTES.map((r) => [r.name, []]));
        for (const route of ROUTES) for (let i = 0; i < WARM_UP; i++) await timed(route, stream);
        // interleaved, so drift on the machine falls on every route alike
        for (let i = 0; i < runs; i++) for (const route of ROUTES) times.get(route.name)!.push(await timed(route, stream));
        return new Map([...times].map(([name, list]) => [name, median(list)]));
      };

      const requests = await measure(false, REQUESTS);
      const events = chatStreamEvents(ANSWER, CHUNK);
      upstream.answer(events);
      const streams = await measure(true, STREAMS);
      const chunks = Math.ceil(ANSWER.length / CHUNK);
      const checks = Math.ceil(ANSWER.length / CHECK_EVERY);

      const { bundles } = installed;
      console.log(
        `\nEdgeGuard as a package: what each path costs an app (model ${JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')).version})\n`,
      );
      console.log('  bundle (wrangler deploy --dry-run)               upload / gzip');
      for (const [name, bundle] of [
        ['EdgeGuard worker', bundles.edgeguard],
        ['consumer: guard() remote + client', bundles.remote],
        ['consumer: client only', bundles.clientOnly],
        ['consumer: guard() in-process', bundles.inProcess],
      ] as const) {
        console.log(`  ${name.padEnd(48)} ${kib(bundle.totalKiB)} / ${kib(bundle.gzipKiB)}`);
      }
      const plainRequest = requests.get(ROUTES[0].name)!;
      const plainStream = streams.get(ROUTES[0].name)!;
      console.log(`\n  guarded request (500-character prompt; ${REQUESTS} per route, medians)   total     added`);
      for (const route of ROUTES) {
        const ms = requests.get(route.name)!;
        console.log(
          `  ${route.name.padEnd(70)} ${ms.toFixed(2).padStart(6)} ms ${route === ROUTES[0] ? '' : `${(ms - plainRequest).toFixed(2).padStart(6)} ms`}`,
        );
      }
      console.log(
        `\n  streamed answer (${ANSWER.length} characters in ${chunks} chunks, a check every ${CHECK_EVERY}: ${checks} checks; ${STREAMS} per route)`,
      );
      console.log(`  ${''.padEnd(46)} total      added   per chunk   per check`);
      for (const route of ROUTES) {
        const ms = streams.get(route.name)!;
        const added = ms - plainStream;
        const extra =
          route === ROUTES[0]
            ? ''
            : `${added.toFixed(1).padStart(7)} ms ${(added / chunks).toFixed(3).padStart(7)} ms ${(added / checks).toFixed(2).padStart(8)} ms`;
        console.log(`  ${route.name.padEnd(46)} ${ms.toFixed(1).padStart(6)} ms ${extra}`);
      }
      console.log();
    } finally {
      await harness.close();
    }
  } finally {
    await upstream.close();
    installed.remove();
  }
}

main().catch((error: Error) => {
  console.error(`bench:consumer: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
