import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient } from '../../pipeline/llm/client.ts';
import { LlmError } from '../../pipeline/llm/llm-error.ts';
import { backoffMs, retryAfterMs } from '../../pipeline/llm/retry.ts';
import { type MockLlmServer, startMockLlm } from '../fixtures/llm/server.ts';

let llm: MockLlmServer;
let dir: string;
const fast = { baseMs: 10, maxMs: 50, maxRetryAfterMs: 5000 };
const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'Hi' }] };

beforeEach(async () => {
  llm = await startMockLlm();
  dir = await mkdtemp(join(tmpdir(), 'llm-client-'));
});
afterEach(async () => {
  await llm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the LLM client', () => {
  it('posts a chat request with the API key and returns the validated answer', async () => {
    llm.generate = () => ({ text: 'Hello there' });
    const client = createLlmClient({ baseUrl: llm.url, apiKey: 'sk-test' });
    const answer = await client.chat(ask);
    expect(answer.choices[0]!.message.content).toBe('Hello there');
    expect(llm.requests[0]!.path).toBe('/v1/chat/completions');
    expect(llm.requests[0]!.headers.authorization).toBe('Bearer sk-test');
    expect(llm.requests[0]!.body).toEqual(ask);
  });

  it('counts requests and the tokens the server reports', async () => {
    llm.generate = () => ({ text: '12345678' }); // the mock counts ceil(chars / 4) tokens
    const client = createLlmClient({ baseUrl: llm.url });
    await client.complete({ model: 'm', prompt: 'abcdefghijkl' });
    await client.complete({ model: 'm', prompt: 'abcd' });
    expect(client.stats()).toMatchObject({ requests: 2, succeeded: 2, promptTokens: 3 + 1, completionTokens: 2 + 2 });
  });

  it('reads completion logprobs in OpenAI format', async () => {
    llm.generate = () => ({ text: 'safe', tokens: ['safe'], topLogprobs: [{ safe: -0.1, unsafe: -2.4 }] });
    const client = createLlmClient({ baseUrl: llm.url });
    const answer = await client.complete({ model: 'm', prompt: 'x', logprobs: 2 });
    expect(answer.choices[0]!.logprobs!.top_logprobs[0]).toEqual({ safe: -0.1, unsafe: -2.4 });
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    llm.script({ status: 429, headers: { 'retry-after': '1' } });
    const client = createLlmClient({ baseUrl: llm.url, backoff: fast });
    await client.chat(ask);
    const [first, second] = llm.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    expect(second!.at - first!.at).toBeLessThan(1500);
    expect(client.stats()).toMatchObject({ requests: 2, retries: 1, rateLimited: 1, succeeded: 1 });
  });

  it('honours retry-after-ms and holds back the other requests of the client meanwhile', async () => {
    llm.script({ status: 429, headers: { 'retry-after-ms': '400' } });
    const client = createLlmClient({ baseUrl: llm.url, concurrency: 2, backoff: fast });
    const first = client.chat(ask);
    await new Promise((r) => setTimeout(r, 50)); // the 429 has arrived by now
    await Promise.all([first, client.chat({ ...ask, model: 'other' })]);
    expect(llm.requests).toHaveLength(3);
    for (const later of llm.requests.slice(1)) expect(later.at - llm.requests[0]!.at).toBeGreaterThanOrEqual(395);
  });

  it('retries server errors with backoff and gives up after maxRetries', async () => {
    llm.script({ status: 500 }, { status: 502 }, { status: 503 });
    const client = createLlmClient({ baseUrl: llm.url, maxRetries: 2, backoff: fast });
    const error = await client.chat(ask).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).status).toBe(503);
    expect(llm.requests).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    llm.script({ status: 400, json: { error: { message: 'context too long' } } });
    const client = createLlmClient({ baseUrl: llm.url, backoff: fast });
    await expect(client.chat(ask)).rejects.toThrow(/HTTP 400: .*context too long/);
    expect(llm.requests).toHaveLength(1);
  });

  it('times out a slow answer and retries it', async () => {
    llm.script({ hang: true }, { delayMs: 2000 });
    const client = createLlmClient({ baseUrl: llm.url, timeoutMs: 200, maxRetries: 2, backoff: fast });
    const t0 = Date.now();
    const answer = await client.chat(ask);
    expect(answer.choices[0]!.message.content).toBe('OK');
    expect(llm.requests).toHaveLength(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('reports a timeout when every attempt is too slow', async () => {
    llm.script({ hang: true }, { hang: true });
    const client = createLlmClient({ baseUrl: llm.url, timeoutMs: 100, maxRetries: 1, backoff: fast });
    const error = (await client.chat(ask).catch((e: unknown) => e)) as LlmError;
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/no answer within 100 ms/);
  });

  it('retries a malformed answer and names what was wrong when it persists', async () => {
    llm.script({ raw: '{"choices": [' }, { json: { choices: [] } }, { json: { choices: [{ message: { role: 'assistant' } }] } });
    const client = createLlmClient({ baseUrl: llm.url, maxRetries: 2, backoff: fast });
    const error = (await client.chat(ask).catch((e: unknown) => e)) as LlmError;
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/malformed answer: choices\.0\.message\.content/);
    expect(llm.requests).toHaveLength(3);
  });

  it('recovers from one malformed answer', async () => {
    llm.script({ raw: 'not json' });
    const client = createLlmClient({ baseUrl: llm.url, backoff: fast });
    expect((await client.chat(ask)).choices[0]!.message.content).toBe('OK');
    expect(llm.requests).toHaveLength(2);
  });

  it('answers a repeated request from the disk cache, across clients', async () => {
    const cacheDir = join(dir, 'cache');
    const first = createLlmClient({ baseUrl: llm.url, cacheDir });
    await first.chat(ask);
    await first.chat(ask);
    const second = createLlmClient({ baseUrl: llm.url, cacheDir });
    const answer = await second.chat({ messages: ask.messages, model: 'm' }); // same request, keys reordered
    expect(answer.choices[0]!.message.content).toBe('OK');
    expect(llm.requests).toHaveLength(1);
    expect(second.stats()).toMatchObject({ requests: 0, cacheHits: 1 });
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const client = createLlmClient({ baseUrl: llm.url, concurrency: 3 });
    const server = llm;
    server.generate = () => ({ text: 'x' });
    for (let i = 0; i < 12; i++) server.script({ delayMs: 30 });
    const tasks = Array.from({ length: 12 }, async (_, i) => {
      const p = client.chat({ ...ask, seed: i });
      inFlight = server.requests.filter((r) => r.status === undefined).length;
      peak = Math.max(peak, inFlight);
      await p;
    });
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.requests.filter((r) => r.status === undefined).length);
    }, 5);
    await Promise.all(tasks);
    clearInterval(sampler);
    expect(server.requests).toHaveLength(12);
    expect(peak).toBe(3);
  });
});

describe('the retry policy', () => {
  it('reads Retry-After in seconds, as a date, and retry-after-ms', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeNull();
  });

  it('backs off exponentially with jitter within [half, full] of the step', () => {
    const opts = { baseMs: 100, maxMs: 1000, maxRetryAfterMs: 60_000 };
    expect(backoffMs(0, null, opts, 0)).toBe(50);
    expect(backoffMs(0, null, opts, 0.999)).toBeCloseTo(99.95);
    expect(backoffMs(3, null, opts, 0)).toBe(400);
    expect(backoffMs(10, null, opts, 0)).toBe(500); // capped at maxMs
  });

  it('never waits less than the server asked', () => {
    expect(backoffMs(0, 2000, undefined, 0)).toBe(2000);
    expect(backoffMs(0, 2000, undefined, 0.5)).toBe(2000 + 100);
  });
});
