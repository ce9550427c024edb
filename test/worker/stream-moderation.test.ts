/**
 * Streaming response moderation (issue 17): `guard()` with `moderateResponses`, and the worker's
 * chat route with `MODERATE_RESPONSES = "stream"`, check an OpenAI-compatible SSE answer as it
 * streams. A harmful answer that starts benign is cut: the client gets nothing past the check that
 * caught it (so at most one window of `every` characters unchecked), then a `content_filter`
 * finish and `[DONE]`, and the upstream is cancelled. The fixture model reads "powder",
 * "detonator" and "fuse" in an answer as harmful.
 */
import { env, exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import OpenAI from 'openai';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GuardError } from '../../src/errors.ts';
import { createRegistry } from '../../src/guard/registry.ts';
import { SseParser } from '../../src/http/sse.ts';
import { guard, type GuardOptions } from '../../src/middleware/guard.ts';
import { inProcess } from '../../src/middleware/scorers/in-process.ts';
import type { GuardScorer } from '../../src/middleware/scorers/scorer.ts';
import {
  BENIGN_START,
  HARMFUL_ANSWER,
  HARMFUL_TURN,
  STREAM_PROMPT,
  chatStreamBody,
  chatStreamEvents,
  readChatStream,
} from '../fixtures/chat-stream.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { createTestApp, emptyBucket, errorOf, scratch, seedModel } from './helpers.ts';

const bucket = scratch.STREAM_TEST;
const EVERY = 100;
const CHAT = { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: STREAM_PROMPT }] };
const SSE = { 'content-type': 'text/event-stream; charset=utf-8' };

/** A Hono app whose handler answers `events` as a chat stream, behind `guard()` with these options. */
function streamingApp(events: string[], options: Partial<GuardOptions> = {}) {
  const upstream = chatStreamBody(events);
  const app = new Hono().post(
    '/chat',
    guard({
      failMode: 'closed',
      scorer: inProcess({ registry: createRegistry(), bucket: () => bucket }),
      moderateResponses: { every: EVERY },
      ...options,
    }),
    () => new Response(upstream.body, { headers: SSE }),
  );
  const send = () =>
    app.request('/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT) }, env);
  return { send, upstream: upstream.state };
}

/** The `response_filtered` line guard() logged. */
function stopLogged(log: { mock: { calls: unknown[][] } }): { forwarded: number; at: number } & Record<string, unknown> {
  const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
  return lines.find((line) => line.event === 'response_filtered') as { forwarded: number; at: number } & Record<string, unknown>;
}

beforeAll(async () => {
  await emptyBucket(bucket);
  await seedModel(bucket, await buildFixtureModel({ version: 'fixture-stream' }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('guard() with moderateResponses', () => {
  it('forwards a benign answer byte for byte', async () => {
    const events = chatStreamEvents(BENIGN_START);
    const res = await streamingApp(events).send();
    expect(res.headers.get('content-type')).toBe(SSE['content-type']);
    expect(await res.text()).toBe(events.join(''));
  });

  it('cuts a harmful answer that starts benign: nothing past the check that caught it, then content_filter and [DONE]', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { send, upstream } = streamingApp(chatStreamEvents(HARMFUL_ANSWER));
    const received = readChatStream(await (await send()).text());
    const stop = stopLogged(log);
    expect(HARMFUL_ANSWER.startsWith(received.content)).toBe(true);
    expect(received.content.length).toBe(stop.forwarded);
    // nothing past the check that caught it, and less than one window of `every` characters unchecked
    expect(stop.forwarded).toBeLessThan(stop.at);
    expect(stop.at - stop.forwarded).toBeLessThanOrEqual(EVERY + 12);
    expect(stop.at).toBeGreaterThan(BENIGN_START.length);
    expect(received.finishReasons).toEqual(['content_filter']);
    expect(received.done).toBe(true);
    expect(upstream.cancelled).toBe(true);
  });

  it('logs the stop without the text: where it was caught, what was forwarded, the score and model', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await (await streamingApp(chatStreamEvents(HARMFUL_ANSWER)).send()).text();
    expect(stopLogged(log)).toMatchObject({ level: 'info', event: 'response_filtered', path: '/chat', choice: 0, model: 'fixture-stream' });
    expect(JSON.stringify(log.mock.calls)).not.toContain('detonator');
  });

  it('checks the end of the answer too: an answer shorter than one window is checked before its finish', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const answer = `Sure. ${HARMFUL_TURN.repeat(2)}`;
    const received = readChatStream(
      await (await streamingApp(chatStreamEvents(answer), { moderateResponses: { every: 4_000 } }).send()).text(),
    );
    // all of it was under one window, so it streamed unchecked; its finish is the filter's
    expect(received).toMatchObject({ content: answer, finishReasons: ['content_filter'], done: true });
  });

  it('ends the stream with an error event the SDKs raise when a check cannot score, failing closed', async () => {
    const inner = inProcess({ registry: createRegistry(), bucket: () => bucket });
    // the model is there for the request and gone for the answer's checks
    const scorer: GuardScorer = {
      name: 'in-process',
      score: (c, request) =>
        request.stage === 'request'
          ? inner.score(c, request)
          : Promise.reject(new GuardError(503, 'model_unavailable', 'R2 key models/current.json is missing')),
    };
    const received = readChatStream(await (await streamingApp(chatStreamEvents(HARMFUL_ANSWER), { scorer }).send()).text());
    expect(received.errors).toEqual([
      { message: 'R2 key models/current.json is missing', type: 'edgeguard_error', code: 'model_unavailable' },
    ]);
    expect(received.content.length).toBeLessThan(EVERY);
    expect(received.done).toBe(false);
  });

  it('streams on unchecked when a check cannot score, failing open', async () => {
    const inner = inProcess({ registry: createRegistry(), bucket: () => bucket });
    const scorer: GuardScorer = {
      name: 'in-process',
      score: (c, request) => (request.stage === 'request' ? inner.score(c, request) : Promise.resolve({ scored: false, reason: 'gone' })),
    };
    const received = readChatStream(
      await (await streamingApp(chatStreamEvents(HARMFUL_ANSWER), { scorer, failMode: 'open' }).send()).text(),
    );
    expect(received).toMatchObject({ content: HARMFUL_ANSWER, finishReasons: ['stop'], done: true });
  });

  it('leaves an answer that does not stream as it is', async () => {
    const answer = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: HARMFUL_ANSWER }, finish_reason: 'stop' }],
    };
    const app = new Hono().post(
      '/chat',
      guard({ failMode: 'closed', scorer: inProcess({ registry: createRegistry(), bucket: () => bucket }), moderateResponses: true }),
      (c) => c.json(answer),
    );
    const res = await app.request(
      '/chat',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT) },
      env,
    );
    expect(await res.json()).toEqual(answer);
  });
});

describe('POST /v1/chat/completions with MODERATE_RESPONSES', () => {
  const upstreamAnswering = (events: string[]) => {
    const upstream = chatStreamBody(events);
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(upstream.body, { headers: SSE }));
    return upstream.state;
  };
  const appWith = (moderate: string) =>
    createTestApp({ bindings: { MODELS: bucket, UPSTREAM_URL: 'https://upstream.test/v1', MODERATE_RESPONSES: moderate } });

  it('"stream": the official openai client sees the answer end with finish_reason content_filter', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const app = appWith('stream');
    upstreamAnswering(chatStreamEvents(HARMFUL_ANSWER));
    const client = new OpenAI({
      apiKey: 'sk-test',
      baseURL: 'http://edgeguard.test/v1',
      fetch: (url, init) => app.request(new URL(String(url)).pathname, init),
      maxRetries: 0,
    });
    let content = '';
    const finishes: (string | null)[] = [];
    for await (const chunk of await client.chat.completions.create({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: STREAM_PROMPT }],
    })) {
      content += chunk.choices[0]?.delta.content ?? '';
      finishes.push(chunk.choices[0]?.finish_reason ?? null);
    }
    expect(finishes.at(-1)).toBe('content_filter');
    expect(HARMFUL_ANSWER.startsWith(content)).toBe(true);
    expect(content.length).toBeLessThan(HARMFUL_ANSWER.length - 200);
  });

  it('"" (the default): the answer streams through unchecked', async () => {
    const events = chatStreamEvents(HARMFUL_ANSWER);
    upstreamAnswering(events);
    const res = await appWith('').post('/v1/chat/completions', CHAT);
    expect(readChatStream(await res.text()).content).toBe(HARMFUL_ANSWER);
  });

  it('answers 500 naming MODERATE_RESPONSES for a value it does not know, and never calls the upstream', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const fetch = vi.spyOn(globalThis, 'fetch');
    expect(await errorOf(await appWith('always').post('/v1/chat/completions', CHAT))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'worker misconfigured: MODERATE_RESPONSES must be "" or "stream", got "always"',
    });
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('the SSE parser', () => {
  it('gives the same events however the bytes are cut, CRLF line ends included', () => {
    const text = chatStreamEvents('Hello, world. ü€😀').join('').replace(/\n/g, '\r\n');
    const bytes = new TextEncoder().encode(text);
    const whole = new SseParser().push(bytes).map((e) => e.data);
    for (const cut of [1, 2, 3, 7]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < bytes.length; i += cut) events.push(...parser.push(bytes.slice(i, i + cut)));
      events.push(...parser.end());
      expect(events.map((e) => e.data)).toEqual(whole);
    }
    expect(whole.at(-1)).toBe('[DONE]');
  });
});

describe('the worker entrypoint', () => {
  it('serves HTTP through its fetch as before', async () => {
    expect((await exports.default.fetch('http://edgeguard.test/')).status).toBe(200);
  });
});
