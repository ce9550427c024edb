/**
 * Privacy and the HTTP envelope: request texts never reach the logs; one structured line per
 * request; `x-request-id` on every response; CORS off unless CORS_ORIGINS names origins.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { RequestLogRecord } from '../../src/middleware/request-log.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, seedModel, scratch } from './helpers.ts';

const SECRET = 'zebra-tangerine-4417';
const kv = scratch.POLICY_KEYS_TEST;

let output: MockInstance[] = [];
const logged = () => output.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' ')));
const records = () =>
  logged()
    .flatMap((line) => (line.startsWith('{"level"') ? [JSON.parse(line) as RequestLogRecord] : []))
    .filter((r) => r.event === 'request');

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel({ version: 'privacy-1' }));
});

beforeEach(() => {
  output = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('logs', () => {
  it('never carry the texts of a request, scored, blocked, refused or failing', async () => {
    const key = await addKey(kv, 'privacy');
    const { post } = createTestApp({ bindings: { API_KEYS: kv } });
    const auth = bearer(key);
    await post('/v1/classify', { prompt: `How do I build a pipe bomb? ${SECRET}`, response: `Sure ${SECRET}` }, auth);
    await post('/v1/moderations', { input: [`hello ${SECRET}`, `bomb ${SECRET}`] }, auth);
    await post('/v1/chat/completions', { messages: [{ role: 'user', content: `bomb ${SECRET}` }] }, auth);
    await post('/v1/chat/completions', { messages: [{ role: 'user', content: `hello ${SECRET}` }] }, auth);
    await post('/v1/classify', { prompt: `${SECRET}`.repeat(5000) }, auth);
    await post('/v1/classify', { prompt: SECRET, typo: SECRET }, auth);
    await post('/v1/classify', `{"prompt":"${SECRET}`, auth);
    await post('/v1/classify', { prompt: SECRET });
    await post('/v1/classify', { prompt: SECRET }, bearer(SECRET));
    expect(records()).toHaveLength(9);
    expect(logged().filter((line) => line.includes(SECRET))).toEqual([]);
  });

  it('carry request id, key name, model version, scores and latency, one line per request', async () => {
    const key = await addKey(kv, 'acme-logs');
    const { post } = createTestApp({ bindings: { API_KEYS: kv } });
    const res = await post(
      '/v1/classify',
      { items: [{ prompt: 'How do I build a pipe bomb?' }, { prompt: 'hello' }] },
      { ...bearer(key), 'x-request-id': 'req-123' },
    );
    expect(res.status).toBe(200);
    expect(records()).toEqual([
      {
        level: 'info',
        event: 'request',
        requestId: 'req-123',
        method: 'POST',
        path: '/v1/classify',
        status: 200,
        key: 'acme-logs',
        model: 'privacy-1',
        scores: [0.9793, 0.018],
        latencyMs: expect.any(Number),
      },
    ]);
  });

  it('name an unknown path by a fixed token, never by the path the caller chose', async () => {
    const { get } = createTestApp();
    const res = await get('/<script>alert(1)</script>');
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/script|alert/);
    expect(records()).toMatchObject([{ path: '<unmatched>', status: 404 }]);
    expect(logged().filter((line) => /script|alert/i.test(line))).toEqual([]);
  });

  it('name an unknown path under /v1 by the token too when it is refused before routing', async () => {
    await addKey(kv, 'paths');
    const { get } = createTestApp({ bindings: { API_KEYS: kv } });
    expect((await get('/v1/<script>alert(1)</script>')).status).toBe(401);
    expect(records()).toMatchObject([{ path: '<unmatched>', status: 401, error: 'missing_api_key' }]);
    expect(logged().filter((line) => /script|alert/i.test(line))).toEqual([]);
  });

  it('name a route by its path, a version in it included, and a version that is no name by the token', async () => {
    const { get } = createTestApp();
    await get('/v1/models/privacy-1/report');
    await get('/v1/models/%3Cb%3E/report');
    expect(records().map((r) => [r.path, r.status])).toEqual([
      ['/v1/models/privacy-1/report', 200],
      ['<unmatched>', 400],
    ]);
  });

  it('name the error code of a refused request', async () => {
    const { post } = createTestApp();
    await post('/v1/classify', { prompt: '' });
    expect(records()[0]).toMatchObject({ status: 400, error: 'invalid_request', key: null });
    expect(records()[0]).not.toHaveProperty('scores');
  });
});

describe('x-request-id', () => {
  it('echoes a well-formed id the caller sends', async () => {
    const { get } = createTestApp();
    expect((await get('/healthz', { 'x-request-id': 'trace.2026-01:abc_DEF' })).headers.get('x-request-id')).toBe('trace.2026-01:abc_DEF');
  });

  it.each([
    ['with spaces', 'a b'],
    ['over 128 characters', 'a'.repeat(129)],
    ['with a Latin-1 letter', 'caf\u00e9'],
    ['with a slash', 'a/b'],
    ['starting with a dash', '-abc'],
    ['with quotes', 'a"b'],
  ])('replaces an id %s with a new UUID', async (_, offered) => {
    const { get } = createTestApp();
    const id = (await get('/healthz', { 'x-request-id': offered })).headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('is on error responses too: 404, 401, 413, 415', async () => {
    await addKey(kv, 'ids');
    const open = createTestApp();
    const closed = createTestApp({ bindings: { API_KEYS: kv } });
    const responses = [
      await open.get('/nope'),
      await closed.post('/v1/classify', { prompt: 'hi' }),
      await open.post('/v1/moderations', { input: 'a'.repeat(2 << 20) }, { 'content-length': String(3 << 20) }),
      await open.request('/v1/classify', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([404, 401, 413, 415]);
    for (const res of responses) expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';

  it('is off by default: no CORS headers, and a preflight gets none either', async () => {
    const { get, request } = createTestApp();
    expect((await get('/healthz', { origin: ORIGIN })).headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await request('/v1/classify', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows the origins CORS_ORIGINS lists, exposing the request id and Retry-After', async () => {
    const { post } = createTestApp({ bindings: { CORS_ORIGINS: `https://other.test, ${ORIGIN}` } });
    const res = await post('/v1/classify', { prompt: 'hi' }, { origin: ORIGIN });
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(res.headers.get('access-control-expose-headers')).toContain('retry-after');
  });

  it('answers a preflight from a listed origin with 204, allowing Authorization', async () => {
    const { request } = createTestApp({ bindings: { CORS_ORIGINS: ORIGIN } });
    const res = await request('/v1/classify', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('sends no allow-origin to an origin it does not list', async () => {
    const { post } = createTestApp({ bindings: { CORS_ORIGINS: ORIGIN } });
    expect(
      (await post('/v1/classify', { prompt: 'hi' }, { origin: 'https://evil.test' })).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('allows any origin with *', async () => {
    const { post } = createTestApp({ bindings: { CORS_ORIGINS: '*' } });
    expect(
      (await post('/v1/classify', { prompt: 'hi' }, { origin: 'https://anyone.test' })).headers.get('access-control-allow-origin'),
    ).toBe('*');
  });

  it('puts the CORS headers on error responses too, so a browser can read a 401', async () => {
    await addKey(kv, 'cors');
    const { post } = createTestApp({ bindings: { CORS_ORIGINS: ORIGIN, API_KEYS: kv } });
    const res = await post('/v1/classify', { prompt: 'hi' }, { origin: ORIGIN });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });
});
