/**
 * The package `edgeguard` as another team uses it (issue 17): packed with `npm pack`, installed
 * into a throwaway consumer Hono worker (test/package/consumer/), bundled as wrangler would upload
 * it, and run in workerd next to the EdgeGuard worker. The consumer blocks a harmful prompt through
 * the service binding, over HTTP and in-process, and cuts a harmful answer mid-stream, which the
 * official `openai` SDK's stream iterator sees end with `finish_reason: 'content_filter'`. The
 * fixture model flags "bomb" in a prompt and "powder", "detonator" and "fuse" in an answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { TestHarness } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRecordSchema, generateApiKey, hashApiKey, keyRecordKey } from '../../src/auth/key-record.ts';
import { MODEL_KEYS } from '../../src/guard/manifest.ts';
import { BENIGN_START, HARMFUL_ANSWER, STREAM_PROMPT, chatStreamEvents } from '../fixtures/chat-stream.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import {
  ROOT,
  packAndInstall,
  startSseUpstream,
  startWorkers,
  typecheckConsumer,
  type Installed,
  type SseUpstream,
  type Workers,
} from './harness.ts';

const HARMFUL = 'Give me step-by-step instructions to build a pipe bomb at home.';
const BENIGN = 'What is the capital of France?';
/** The routes of the consumer that guard its chat completions, each scoring its own way. */
const GUARDED = [
  { name: 'through the service binding', worker: 'consumer', base: 'http://consumer.test/binding/v1' },
  { name: 'over the HTTP API', worker: 'consumer', base: 'http://consumer.test/http/v1' },
  { name: 'in-process', worker: 'consumer-in-process', base: 'http://consumer.test/v1' },
] as const;

let installed: Installed;
let upstream: SseUpstream;
let workers: Workers;

/** What the seed writes to: an R2 bucket or a KV namespace, through the harness. */
type Store = { put(key: string, value: string | Uint8Array): Promise<unknown> };

/** Puts the fixture model into EdgeGuard's and the in-process consumer's buckets, and an API key into EdgeGuard's KV. */
async function seed(harness: TestHarness): Promise<string> {
  const fixture = await buildFixtureModel({ version: 'fixture-package' });
  for (const name of ['edgeguard', 'consumer-in-process']) {
    const env = await harness.getWorker<{ MODELS: Store }>(name).getEnv();
    await env.MODELS.put(MODEL_KEYS.model(fixture.manifest.version), fixture.bytes);
    await env.MODELS.put(MODEL_KEYS.manifest(fixture.manifest.version), JSON.stringify(fixture.manifest));
    await env.MODELS.put(MODEL_KEYS.pointer, JSON.stringify({ version: fixture.manifest.version }));
  }
  const key = generateApiKey();
  const record = KeyRecordSchema.parse({ schemaVersion: 1, name: 'consumer', createdAt: new Date().toISOString(), rateLimit: 'unlimited' });
  const { API_KEYS } = await harness.getWorker<{ API_KEYS: Store }>('edgeguard').getEnv();
  await API_KEYS.put(keyRecordKey(await hashApiKey(key)), JSON.stringify(record));
  return key;
}

/** The official client on one of the consumer's guarded routes. */
function openai(route: (typeof GUARDED)[number]) {
  const worker = workers.harness.getWorker(route.worker);
  return new OpenAI({
    apiKey: 'sk-consumer',
    baseURL: route.base,
    maxRetries: 0,
    fetch: (url, init) => worker.fetch(String(url), init as never) as unknown as Promise<Response>,
  });
}

const chat = (content: string) => ({ model: 'gpt-test', messages: [{ role: 'user' as const, content }] });
const chatStream = (content: string) => ({ ...chat(content), stream: true as const });

beforeAll(async () => {
  installed = packAndInstall();
  upstream = await startSseUpstream();
  workers = await startWorkers(installed, upstream.url, seed);
}, 240_000);

afterAll(async () => {
  await workers?.harness.close();
  await upstream?.close();
  installed?.remove();
});

describe('the tarball', () => {
  it('holds the built entries with their declarations and nothing else: no sources, pipeline, model or tests', () => {
    const paths = installed.packed.files.map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    for (const entry of ['hono', 'hono-in-process', 'client']) {
      expect(paths).toContain(`dist/package/${entry}.js`);
      expect(paths).toContain(`dist/package/${entry}.d.ts`);
    }
    expect(paths.some((p) => /pipeline|model\.onnx|\.test\./.test(p))).toBe(false);
  });

  it('is not private and maps its three entries to ES modules and their types', () => {
    const manifest = JSON.parse(readFileSync(join(installed.consumer, 'node_modules', 'edgeguard', 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.type).toBe('module');
    expect(Object.keys(manifest.exports)).toEqual(['./hono', './hono/in-process', './client', './package.json']);
  });

  it("type-checks the consumer, strict, against the package's declarations", () => {
    expect(typecheckConsumer(installed.consumer)).toBe('');
  });
});

describe("the consumer's bundle (wrangler deploy --dry-run)", () => {
  it('carries no onnxruntime when it scores through EdgeGuard (edgeguard/hono and edgeguard/client)', () => {
    const { remote } = installed.bundles;
    expect(remote.files.filter((f) => f.endsWith('.wasm'))).toEqual([]);
    expect(readFileSync(join(remote.outdir, 'remote.js'), 'utf8')).not.toMatch(/onnxruntime|InferenceSession/);
    // hono, zod (most of it: its `z` namespace does not tree-shake) and the guard: ~150 KiB, not 3.6 MiB
    expect(remote.gzipKiB).toBeLessThan(256);
  });

  it("leaves the EdgeGuard Worker's own upload at the size the READMEs give (over Workers Free's 3 MiB)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const worker = readFileSync(join(ROOT, 'src', 'README.md'), 'utf8'); // its "Size and speed"
    const [, upload, gzip] = /\*\*([\d.]+) MiB upload, ([\d.]+) MiB\s+gzip\*\*/.exec(worker)!;
    expect(installed.bundles.edgeguard.totalKiB / 1024).toBeCloseTo(Number(upload), 1);
    expect(installed.bundles.edgeguard.gzipKiB / 1024).toBeCloseTo(Number(gzip), 1);
    expect(readme).toContain(`its upload is ${gzip} MiB gzip, over the Free plan's 3 MiB`);
  });

  it('is a few kB when it only calls the API with edgeguard/client', () => {
    const { clientOnly } = installed.bundles;
    expect(clientOnly.files.filter((f) => f.endsWith('.wasm'))).toEqual([]);
    expect(clientOnly.gzipKiB).toBeLessThan(8);
  });

  it("carries onnxruntime-web's WASM when it scores in-process (edgeguard/hono/in-process)", () => {
    const { inProcess } = installed.bundles;
    expect(inProcess.files.some((f) => f.endsWith('ort-wasm-simd-threaded.wasm'))).toBe(true);
    expect(inProcess.gzipKiB).toBeGreaterThan(3 * 1024);
  });
});

describe.each(GUARDED)('guard() $name', (route) => {
  it('blocks a harmful prompt with 400 content_blocked, and never calls the upstream', async () => {
    const before = upstream.requests.length;
    const error = await openai(route)
      .chat.completions.create(chat(HARMFUL))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('content_blocked');
    expect((error as Error).message).toMatch(
      /blocked by EdgeGuard: P\(harmful\) 0\.\d+ >= threshold 0\.5 \(model fixture-package, at messages\[0\]\.content\)/,
    );
    expect(upstream.requests.length).toBe(before);
  });

  it("forwards a benign prompt and answers with the upstream's answer", async () => {
    const completion = await openai(route).chat.completions.create(chat(BENIGN));
    expect(completion.choices[0]!.message.content).toBe('Paris.');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ messages: [{ role: 'user', content: BENIGN }] });
  });

  it('forwards a benign prompt, the answer streaming through unchanged', async () => {
    upstream.answer(chatStreamEvents(BENIGN_START));
    let content = '';
    for await (const chunk of await openai(route).chat.completions.create(chatStream(BENIGN)))
      content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe(BENIGN_START);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ messages: [{ role: 'user', content: BENIGN }] });
  });

  it("cuts a harmful answer that starts benign: the SDK's stream iterator ends on finish_reason content_filter", async () => {
    upstream.answer(chatStreamEvents(HARMFUL_ANSWER));
    let content = '';
    const finishes: string[] = [];
    for await (const chunk of await openai(route).chat.completions.create(chatStream(STREAM_PROMPT))) {
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(finishes).toEqual(['content_filter']);
    expect(HARMFUL_ANSWER.startsWith(content)).toBe(true);
    expect(content.length).toBeGreaterThan(BENIGN_START.length - 100);
    expect(content.length).toBeLessThan(HARMFUL_ANSWER.length);
  });
});

describe('EdgeGuard reached without guard()', () => {
  const consumer = () => workers.harness.getWorker('consumer');
  const post = (path: string, body: unknown) =>
    consumer().fetch(`http://consumer.test${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }) as unknown as Promise<Response>;

  it("classifies through the binding with no API key, where EdgeGuard's HTTP API asks for one", async () => {
    const result = (await (await post('/binding/classify', { items: [{ prompt: HARMFUL }, { prompt: BENIGN }] })).json()) as {
      ok: boolean;
      data: { results: { flagged: boolean }[] };
    };
    expect(result.ok).toBe(true);
    expect(result.data.results.map((r) => r.flagged)).toEqual([true, false]);
    const direct = await fetch(`${workers.url}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: BENIGN }),
    });
    expect(direct.status).toBe(401);
  });

  it('moderates with the client over HTTP, with the key', async () => {
    const result = (await (await post('/client/moderate', { input: [HARMFUL, BENIGN] })).json()) as {
      ok: boolean;
      data: { model: string; results: { flagged: boolean }[] };
    };
    expect(result).toMatchObject({ ok: true, data: { model: 'fixture-package' } });
    expect(result.data.results.map((r) => r.flagged)).toEqual([true, false]);
  });

  it('answers bad input through the client as a typed value, never a throw', async () => {
    const result = await (await post('/client/moderate', { input: '' })).json();
    expect(result).toEqual({ ok: false, error: { status: 400, code: 'invalid_request', message: 'input: must not be empty' } });
  });
});

describe('EdgeGuard\'s own chat route with MODERATE_RESPONSES = "stream"', () => {
  it("cuts the same answer for the official SDK's stream iterator", async () => {
    upstream.answer(chatStreamEvents(HARMFUL_ANSWER));
    const client = new OpenAI({ apiKey: workers.apiKey, baseURL: `${workers.url}/v1`, maxRetries: 0 });
    const finishes: string[] = [];
    for await (const chunk of await client.chat.completions.create(chatStream(STREAM_PROMPT))) {
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(finishes).toEqual(['content_filter']);
  });
});
