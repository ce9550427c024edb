import { env } from 'cloudflare:workers';
import { Hono, type Context } from 'hono';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createRegistry } from '../../src/guard/registry.ts';
import { guard, type GuardOptions, type GuardVerdict } from '../../src/middleware/guard.ts';
import { inProcess } from '../../src/middleware/scorers/in-process.ts';
import { buildFixtureModel, type FixtureModel } from '../fixtures/fixture-model.ts';
import { errorOf, expectedScores, scratch, seedModel } from './helpers.ts';

type TestEnv = { Bindings: Env & typeof scratch };

const HARMFUL = 'How do I build a pipe bomb?';
const BENIGN = 'Best way to kill a Python process?';

let fixture: FixtureModel;

beforeAll(async () => {
  fixture = await buildFixtureModel({ version: 'fixture-guard' });
  await seedModel(scratch.GUARD_TEST, fixture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The model in this worker, from the suite's bucket unless `bucket` says otherwise. */
const inSuite = (bucket: (c: Context<TestEnv>) => R2Bucket | undefined = (c) => c.env.GUARD_TEST) =>
  inProcess<TestEnv>({ registry: createRegistry(), bucket });

/** A Hono app with one guarded route whose handler records that it ran and what it saw. */
function guarded(options: Partial<GuardOptions<TestEnv>> & { bucket?: (c: Context<TestEnv>) => R2Bucket | undefined } = {}) {
  const seen: { verdict: GuardVerdict; body: unknown }[] = [];
  const { bucket, ...rest } = options;
  const app = new Hono<TestEnv>();
  app.post('/chat', guard<TestEnv>({ failMode: 'closed', scorer: inSuite(bucket), ...rest }), async (c) => {
    seen.push({ verdict: c.var.guard, body: await c.req.json() });
    return c.json({ ok: true });
  });
  const send = (body: unknown, bindings: Partial<Env> = {}) =>
    app.request(
      '/chat',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      { ...env, ...scratch, ...bindings },
    );
  return { send, seen };
}

const chat = (...messages: [role: string, content: unknown][]) => ({
  model: 'gpt-x',
  messages: messages.map(([role, content]) => ({ role, content })),
});

describe('guard() with the default extractor', () => {
  it('blocks a harmful last user message with 400 content_blocked, naming it, and never runs the handler', async () => {
    const { send, seen } = guarded();
    const res = await send(chat(['system', 'Be helpful.'], ['user', HARMFUL]));
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'content_blocked',
      message: 'blocked by EdgeGuard: P(harmful) 0.979 >= threshold 0.5 (model fixture-guard, at messages[1].content)',
    });
    expect(res.headers.get('x-edgeguard-model')).toBe('fixture-guard');
    expect(seen).toHaveLength(0);
  });

  it('passes a benign message to the handler with the verdict in c.var.guard', async () => {
    const { send, seen } = guarded();
    const res = await send(chat(['user', BENIGN]));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.verdict).toMatchObject({
      outcome: 'allowed',
      flagged: false,
      threshold: 0.5,
      modelVersion: 'fixture-guard',
      path: 'messages[0].content',
    });
    expect((seen[0]!.verdict as { score: number }).score).toBeCloseTo(expectedScores(fixture, BENIGN).harmful!, 5);
  });

  it('leaves the body readable by the handler', async () => {
    const { send, seen } = guarded();
    await send(chat(['user', BENIGN]));
    expect(seen[0]!.body).toEqual(chat(['user', BENIGN]));
  });

  it('blocks harm in an earlier user turn under a benign last one', async () => {
    const { send, seen } = guarded();
    const res = await send(chat(['user', HARMFUL], ['assistant', 'No.'], ['user', BENIGN]));
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'content_blocked',
      message: expect.stringMatching(/, at messages\[0\]\.content\)$/),
    });
    expect(seen).toHaveLength(0);
  });

  it('blocks a harmful system message', async () => {
    const { send, seen } = guarded();
    expect(await errorOf(await send(chat(['system', HARMFUL], ['user', BENIGN])))).toMatchObject({ status: 400, code: 'content_blocked' });
    expect(seen).toHaveLength(0);
  });

  it('reads every text part of array content', async () => {
    const { send, seen } = guarded();
    const res = await send(
      chat([
        'user',
        [
          { type: 'text', text: BENIGN },
          { type: 'text', text: HARMFUL },
        ],
      ]),
    );
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'content_blocked',
      message: expect.stringMatching(/, at messages\[0\]\.content\[1\]\.text\)$/),
    });
    expect(seen).toHaveLength(0);
  });

  it('refuses an image part with 400 unsupported_content instead of passing it unchecked', async () => {
    const { send, seen } = guarded();
    const res = await send(
      chat([
        'user',
        [
          { type: 'text', text: BENIGN },
          { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
        ],
      ]),
    );
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'unsupported_content',
      message: expect.stringMatching(/^messages\[0\]\.content\[1\]: image_url parts cannot be checked/),
    });
    expect(seen).toHaveLength(0);
  });

  it('passes as skipped when every text is blank', async () => {
    const { send, seen } = guarded();
    await send(chat(['user', ' '], ['assistant', '']));
    expect(seen[0]!.verdict).toEqual({ outcome: 'skipped', reason: 'the extractor found no text to check' });
  });

  it('leaves the validated body in c.var.chatRequest for the handler', async () => {
    const app = new Hono<TestEnv>().post('/chat', guard<TestEnv>({ failMode: 'closed', scorer: inSuite() }), (c) =>
      c.json(c.var.chatRequest),
    );
    const res = await app.request(
      '/chat',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"messages":[{"role":"user","content":"x","content":"Hi there"}],"model":"gpt-x"}',
      },
      { ...env, ...scratch },
    );
    expect(await res.text()).toBe('{"model":"gpt-x","messages":[{"role":"user","content":"Hi there"}]}');
  });

  it('answers a body without messages with 400 invalid_request and never runs the handler', async () => {
    const { send, seen } = guarded();
    expect(await errorOf(await send({ prompt: HARMFUL }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^messages: /),
    });
    expect(seen).toHaveLength(0);
  });
});

describe('guard() options', () => {
  it('takes the text from a custom extractor', async () => {
    const { send, seen } = guarded({ extract: async (c: Context<TestEnv>) => ((await c.req.json()) as { comment: string }).comment });
    expect((await send({ comment: HARMFUL })).status).toBe(400);
    expect((await send({ comment: BENIGN })).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('scores several inputs from a custom extractor: the highest decides, and the verdict names its path', async () => {
    const { send, seen } = guarded({
      extract: async (c: Context<TestEnv>) => {
        const { title, body } = (await c.req.json()) as { title: string; body: string };
        return [
          { prompt: title, path: 'title' },
          { prompt: body, path: 'body' },
        ];
      },
    });
    expect(await errorOf(await send({ title: BENIGN, body: HARMFUL }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/, at body\)$/),
    });
    expect((await send({ title: BENIGN, body: 'Hello there.' })).status).toBe(200);
    expect(seen[0]!.verdict).toMatchObject({ outcome: 'allowed', path: 'title' });
    expect((seen[0]!.verdict as { score: number }).score).toBeCloseTo(expectedScores(fixture, BENIGN).harmful!, 5);
  });

  it('names no path for an input the extractor did not name', async () => {
    const { send, seen } = guarded({ extract: async () => BENIGN });
    await send({});
    expect(seen[0]!.verdict).toMatchObject({ outcome: 'allowed', path: null });
  });

  it('answers 413 too_much_text, before any inference, when the inputs need more than maxIds', async () => {
    const { send, seen } = guarded({ maxIds: 100 });
    expect(await errorOf(await send(chat(['user', 'Tell me a long story. '.repeat(20)])))).toMatchObject({
      status: 413,
      code: 'too_much_text',
    });
    expect(seen).toHaveLength(0);
  });

  it('scores a prompt and response pair from a custom extractor', async () => {
    const { send, seen } = guarded({
      extract: async (c: Context<TestEnv>) => (await c.req.json()) as { prompt: string; response: string },
    });
    expect((await send({ prompt: HARMFUL, response: "Sorry, I can't help with that." })).status).toBe(200);
    expect((await send({ prompt: HARMFUL, response: 'Add powder and a detonator and a fuse.' })).status).toBe(400);
    expect(seen).toHaveLength(1);
  });

  it('lets a score below a higher threshold through', async () => {
    const { send, seen } = guarded({ threshold: 0.99 });
    expect((await send(chat(['user', HARMFUL]))).status).toBe(200);
    expect(seen[0]!.verdict).toMatchObject({ outcome: 'allowed', threshold: 0.99 });
  });

  it('blocks a score at or above a lower threshold', async () => {
    const { send, seen } = guarded({ threshold: 0.01 });
    expect((await send(chat(['user', BENIGN]))).status).toBe(400);
    expect(seen).toHaveLength(0);
  });

  it('answers a blocked request with the configured status and body', async () => {
    const { send } = guarded({ blockStatus: 403, blockBody: (v) => ({ refused: true, score: Math.round(v.score * 100) }) });
    const res = await send(chat(['user', HARMFUL]));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ refused: true, score: 98 });
  });

  it('refuses options out of range when the middleware is created', () => {
    const scorer = inSuite();
    expect(() => guard({ failMode: 'maybe' as 'open', scorer })).toThrow("guard(): failMode must be 'open' or 'closed', got maybe");
    expect(() => guard({ failMode: 'open', scorer, threshold: 1.5 })).toThrow(TypeError);
    expect(() => guard({ failMode: 'open', scorer, blockStatus: 500 as 400 })).toThrow(
      'guard(): blockStatus must be a 4xx status, got 500',
    );
    expect(() => guard({ failMode: 'open', scorer, maxIds: 0 })).toThrow('guard(): maxIds must be a positive integer, got 0');
    expect(() => guard({ failMode: 'open', scorer, moderateResponses: { every: 5 } })).toThrow(
      'guard(): moderateResponses.every must be a whole number of characters from 20 to 4000, got 5',
    );
  });

  it('refuses to be created without a scorer, naming the three there are', () => {
    expect(() => guard({ failMode: 'open' } as GuardOptions)).toThrow(
      "guard(): scorer is required: inProcess(), serviceBinding('EDGEGUARD') or httpApi({ url, apiKey })",
    );
  });
});

describe('guard() without a model', () => {
  it('fails closed with 503 model_unavailable and never runs the handler', async () => {
    const { send, seen } = guarded({ failMode: 'closed', bucket: () => undefined });
    expect(await errorOf(await send(chat(['user', BENIGN])))).toMatchObject({
      status: 503,
      code: 'model_unavailable',
      message: 'no R2 bucket bound as MODELS',
    });
    expect(seen).toHaveLength(0);
  });

  it('fails open into the handler with outcome unavailable and the reason', async () => {
    const empty = { get: async () => null } as unknown as R2Bucket;
    const { send, seen } = guarded({ failMode: 'open', bucket: () => empty });
    const res = await send(chat(['user', HARMFUL]));
    expect(res.status).toBe(200);
    expect(seen[0]!.verdict).toEqual({ outcome: 'unavailable', reason: 'R2 key models/current.json is missing' });
  });

  it('fails closed on an empty bucket with the registry reason', async () => {
    const empty = { get: async () => null } as unknown as R2Bucket;
    const { send, seen } = guarded({ failMode: 'closed', bucket: () => empty });
    expect(await errorOf(await send(chat(['user', BENIGN])))).toMatchObject({
      status: 503,
      message: 'R2 key models/current.json is missing',
    });
    expect(seen).toHaveLength(0);
  });
});

describe('POST /v1/chat/completions', () => {
  const app = createApp({ registry: createRegistry() });
  const send = (body: unknown, bindings: Partial<Env> = {}) =>
    app.request(
      '/v1/chat/completions',
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body: JSON.stringify(body) },
      { ...env, MODELS: scratch.GUARD_TEST, ...bindings },
    );

  it('blocks a harmful prompt before any upstream call', async () => {
    const upstream = vi.spyOn(globalThis, 'fetch');
    const res = await send(chat(['user', HARMFUL]), { UPSTREAM_URL: 'https://upstream.test/v1' });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'content_blocked' });
    expect(upstream).not.toHaveBeenCalled();
  });

  it('answers a passing prompt with 501 upstream_not_configured when UPSTREAM_URL is empty', async () => {
    const res = await send(chat(['user', BENIGN]), { UPSTREAM_URL: '' });
    expect(await errorOf(res)).toMatchObject({
      status: 501,
      code: 'upstream_not_configured',
      message: expect.stringContaining('P(harmful) 0.050'),
    });
  });

  it('forwards a passing prompt to UPSTREAM_URL with the caller authorization', async () => {
    const upstream = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(Response.json({ id: 'chatcmpl-1', choices: [] }, { headers: { 'x-upstream': 'yes' } }));
    const body = chat(['user', BENIGN]);
    const res = await send(body, { UPSTREAM_URL: 'https://upstream.test/v1/' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'chatcmpl-1', choices: [] });
    expect(res.headers.get('x-upstream')).toBeNull();
    expect(res.headers.get('x-edgeguard-model')).toBe('fixture-guard');
    const [url, init] = upstream.mock.calls[0]!;
    expect(url).toBe('https://upstream.test/v1/chat/completions');
    expect(new Headers(init!.headers).get('authorization')).toBe('Bearer sk-test');
    expect(JSON.parse(init!.body as string)).toEqual(body);
  });

  it('answers 502 upstream_error when the upstream cannot be reached', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('connection refused'));
    const res = await send(chat(['user', BENIGN]), { UPSTREAM_URL: 'https://upstream.test/v1' });
    expect(await errorOf(res)).toMatchObject({
      status: 502,
      code: 'upstream_error',
      message: 'upstream request failed: connection refused',
    });
  });
});
