/**
 * Loopback benchmark of the LLM client against the mock server (127.0.0.1 only, bounded; the
 * server runs in a worker thread so client and server do not share one event loop):
 * - requests/second at the client's default concurrency (8), cache off;
 * - the client's own overhead per request: the same requests one at a time through the client
 *   and through a bare fetch + JSON.parse, alternating in rounds, the median difference;
 * - a disk-cache hit's cost (no network at all).
 * Run: npm run bench:llm
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createLlmClient } from '../../pipeline/llm/client.ts';

const THROUGHPUT_REQUESTS = 2000;
const SERIAL_REQUESTS = 500;
const ROUNDS = 9;

const worker = new Worker(new URL('./mock-server-worker.ts', import.meta.url));
const ask = <T>(message: string) =>
  new Promise<T>((resolve) => {
    worker.once('message', resolve);
    if (message) worker.postMessage(message);
  });
const { url } = await ask<{ url: string }>('');
const dir = await mkdtemp(join(tmpdir(), 'bench-llm-'));
const body = (i: number) => ({
  model: 'bench',
  messages: [{ role: 'user' as const, content: `Question number ${i}: say something short.` }],
  max_tokens: 16,
  seed: i,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}
const line = (label: string, n: number, ms: number) =>
  console.log(
    `${label.padEnd(52)} ${String(n).padStart(5)} requests ${(ms / 1000).toFixed(2)} s  ${(n / (ms / 1000)).toFixed(0).padStart(5)} req/s  ${((ms * 1000) / n).toFixed(0).padStart(4)} us/request`,
  );

try {
  const client = createLlmClient({ baseUrl: url }); // default concurrency: 8
  // A stage hands the client more work than its limit (here 4 x 8 callers); the client keeps 8 in flight.
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let next = 0;
    rounds.push(
      await time(async () => {
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < THROUGHPUT_REQUESTS) await client.chat(body(round * THROUGHPUT_REQUESTS + next++));
          }),
        );
      }),
    );
  }
  line('client, default concurrency (8), no cache (median round)', THROUGHPUT_REQUESTS, median(rounds.slice(1)));

  const serial = createLlmClient({ baseUrl: url, concurrency: 1 });
  const viaClient: number[] = [];
  const viaFetch: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    viaClient.push(
      await time(async () => {
        for (let i = 0; i < SERIAL_REQUESTS; i++) await serial.chat(body(i));
      }),
    );
    viaFetch.push(
      await time(async () => {
        for (let i = 0; i < SERIAL_REQUESTS; i++) {
          const res = await fetch(`${url}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body(i)),
          });
          JSON.parse(await res.text());
        }
      }),
    );
  }
  line('client, one at a time, no cache (median round)', SERIAL_REQUESTS, median(viaClient));
  line('bare fetch + JSON.parse, one at a time (median round)', SERIAL_REQUESTS, median(viaFetch));
  const overhead = median(viaClient.map((c, i) => c - viaFetch[i]!));
  console.log(
    `client overhead per request (limiter, timeout, validation, accounting): ${((overhead * 1000) / SERIAL_REQUESTS).toFixed(0)} us`,
  );

  const cached = createLlmClient({ baseUrl: url, cacheDir: join(dir, 'cache') });
  line(
    'disk cache, first pass (miss: request + write)',
    SERIAL_REQUESTS,
    await time(async () => {
      for (let i = 0; i < SERIAL_REQUESTS; i++) await cached.chat(body(i));
    }),
  );
  const before = (await ask<{ count: number }>('count')).count;
  line(
    'disk cache, second pass (hits)',
    SERIAL_REQUESTS,
    await time(async () => {
      for (let i = 0; i < SERIAL_REQUESTS; i++) await cached.chat(body(i));
    }),
  );
  console.log(`server requests during the cached pass: ${(await ask<{ count: number }>('count')).count - before}`);
} finally {
  worker.postMessage('close');
  await rm(dir, { recursive: true, force: true });
}
