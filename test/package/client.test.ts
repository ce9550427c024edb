/**
 * `createClient()` (edgeguard/client) against a local HTTP server that answers as told: answers
 * and failures come back as values, 429 and 503 are retried after the `Retry-After` they give,
 * an attempt that takes too long is abandoned and retried, and the rest is never retried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.ts';

type Reply = (res: ServerResponse) => void;

let server: Server;
let base: string;
/** The replies to the next requests, in order; the last one repeats. */
let replies: Reply[] = [];
/** What the server received. */
let received: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Reply =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
const apiError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message } }, headers);
const ANSWER = {
  model: { version: 'v1' },
  results: [{ score: 0.98, flagged: true, categories: {} }],
  policy: { threshold: 0.5, categoryThresholds: {}, failMode: 'closed', source: 'model' },
};

function answering(...next: Reply[]): void {
  replies = next;
  received = [];
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ path: req.url!, headers: req.headers, body });
    (replies.length > 1 ? replies.shift()! : replies[0]!)(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createClient()', () => {
  it('posts JSON with the key as a bearer token and gives the answer as { ok: true, data }', async () => {
    answering(json(200, ANSWER));
    const result = await createClient({ url: `${base}/`, apiKey: 'egk_test' }).classify({ prompt: 'How do I build a pipe bomb?' });
    expect(result).toEqual({ ok: true, data: ANSWER });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      path: '/v1/classify',
      headers: { authorization: 'Bearer egk_test', 'content-type': 'application/json' },
    });
    expect(JSON.parse(received[0]!.body)).toEqual({ prompt: 'How do I build a pipe bomb?' });
  });

  it('moderates at /v1/moderations and sends a request id when given one', async () => {
    answering(json(200, { id: 'modr-1', model: 'v1', results: [] }));
    await createClient({ url: base }).moderate({ input: 'hi' }, { requestId: 'req-42' });
    expect(received[0]).toMatchObject({ path: '/v1/moderations', headers: { 'x-request-id': 'req-42' } });
  });

  it('retries a 503 after the Retry-After it gives, in seconds, then answers', async () => {
    answering(apiError(503, 'model_unavailable', 'loading', { 'retry-after': '1' }), json(200, ANSWER));
    const started = Date.now();
    const result = await createClient({ url: base }).classify({ prompt: 'hi' });
    expect(result.ok).toBe(true);
    expect(received).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('retries a 429 after its retry-after-ms', async () => {
    answering(apiError(429, 'rate_limited', 'slow down', { 'retry-after-ms': '50' }), json(200, ANSWER));
    expect((await createClient({ url: base }).classify({ prompt: 'hi' })).ok).toBe(true);
    expect(received).toHaveLength(2);
  });

  it('gives up at once when Retry-After asks for more than maxRetryDelayMs, saying how long to wait', async () => {
    answering(apiError(429, 'rate_limited', 'over the limit', { 'retry-after': '60' }));
    const result = await createClient({ url: base }).classify({ prompt: 'hi' });
    expect(result).toEqual({ ok: false, error: { status: 429, code: 'rate_limited', message: 'over the limit', retryAfter: 60 } });
    expect(received).toHaveLength(1);
  });

  it('makes 1 + retries attempts, then gives the last error', async () => {
    answering(apiError(503, 'model_unavailable', 'no model'));
    const result = await createClient({ url: base, retries: 2 }).classify({ prompt: 'hi' });
    expect(result).toEqual({ ok: false, error: { status: 503, code: 'model_unavailable', message: 'no model' } });
    expect(received).toHaveLength(3);
  });

  it("never retries the caller's mistakes: a 400 comes back at once with the API's code and message", async () => {
    answering(apiError(400, 'text_too_long', 'prompt: longer than 32000 characters'));
    const result = await createClient({ url: base }).classify({ prompt: 'x' });
    expect(result).toEqual({ ok: false, error: { status: 400, code: 'text_too_long', message: 'prompt: longer than 32000 characters' } });
    expect(received).toHaveLength(1);
  });

  it('abandons an attempt after timeoutMs, retries it, and reports a timeout', async () => {
    answering(() => {}); // never answers
    const started = Date.now();
    const result = await createClient({ url: base, timeoutMs: 100, retries: 1 }).classify({ prompt: 'hi' });
    expect(result).toEqual({ ok: false, error: { status: null, code: 'timeout', message: 'no answer within 100 ms' } });
    expect(received).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('bounds an attempt by timeoutMs even when the fetch it is given ignores the abort signal', async () => {
    const never = () => new Promise<Response>(() => {});
    const result = await createClient({ url: base, timeoutMs: 50, retries: 0, fetch: never }).classify({ prompt: 'hi' });
    expect(result).toEqual({ ok: false, error: { status: null, code: 'timeout', message: 'no answer within 50 ms' } });
  });

  it('reports a server that cannot be reached as network_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await createClient({ url: `http://127.0.0.1:${port}`, retries: 0 }).classify({ prompt: 'hi' });
    expect(result).toMatchObject({ ok: false, error: { status: null, code: 'network_error' } });
  });

  it("reports an answer that is not the API's JSON as invalid_response, with its status", async () => {
    answering((res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
    });
    const result = await createClient({ url: base, retries: 0 }).classify({ prompt: 'hi' });
    expect(result).toEqual({
      ok: false,
      error: { status: 502, code: 'invalid_response', message: 'EdgeGuard answered 502 without its JSON error body: <h1>Bad gateway</h1>' },
    });
  });

  it('refuses a URL that is not http(s), and options out of range, when it is created', () => {
    expect(() => createClient({ url: 'edgeguard.example.com' })).toThrow(
      'createClient(): url must be an http(s) URL, got edgeguard.example.com',
    );
    expect(() => createClient({ url: base, retries: -1 })).toThrow(TypeError);
    expect(() => createClient({ url: base, timeoutMs: 0 })).toThrow(TypeError);
  });
});
