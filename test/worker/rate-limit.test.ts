/**
 * Rate limits per API key: the key's tier picks a rate-limiting binding, counted by the key's
 * digest; over it, 429 `rate_limited` with Retry-After.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../../src/auth/key-record.ts';
import { RATE_LIMIT_PERIOD_SECONDS } from '../../src/middleware/rate-limit.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, errorOf, scratch, seedModel } from './helpers.ts';

const kv = scratch.LIMIT_KEYS_TEST;
const PROMPT = { prompt: 'hello' };

/** A limiter that allows `allow` calls per key and records them. */
function fakeLimiter(allow: number) {
  const calls: string[] = [];
  const limiter: RateLimit = {
    async limit({ key }) {
      calls.push(key);
      return { success: calls.filter((k) => k === key).length <= allow };
    },
  };
  return { limiter, calls };
}

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('with the real rate-limiting binding (3 a minute)', () => {
  it('answers 429 rate_limited with Retry-After once a key is over its limit', async () => {
    const key = await addKey(kv, 'busy');
    const { post } = createTestApp({ bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: scratch.RATE_LIMIT_TEST } });
    const responses: Response[] = [];
    // 7 requests: at least 4 over one window of 3, even if a minute boundary falls in between
    for (let i = 0; i < 7; i++) responses.push(await post('/v1/classify', PROMPT, bearer(key)));
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(responses.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    expect(limited[0]!.headers.get('retry-after')).toBe(String(RATE_LIMIT_PERIOD_SECONDS));
    expect(await errorOf(limited[0]!)).toEqual({
      status: 429,
      code: 'rate_limited',
      message: "API key 'busy' is over its standard rate limit; retry after 60 s",
    });
  });
});

describe('tiers and counting', () => {
  it('counts each key separately, by its digest rather than the key', async () => {
    const [a, b] = [await addKey(kv, 'a'), await addKey(kv, 'b')];
    const { limiter, calls } = fakeLimiter(2);
    const { post } = createTestApp({ bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: limiter } });
    const statuses = [];
    for (const key of [a, a, a, b, b]) statuses.push((await post('/v1/classify', PROMPT, bearer(key))).status);
    expect(statuses).toEqual([200, 200, 429, 200, 200]);
    expect(calls[0]).toBe((await hashApiKey(a)).slice(0, 16));
  });

  it('counts a high-tier key with the RATE_LIMIT_HIGH binding', async () => {
    const key = await addKey(kv, 'big', { rateLimit: 'high' });
    const standard = fakeLimiter(0);
    const high = fakeLimiter(100);
    const { post } = createTestApp({ bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: standard.limiter, RATE_LIMIT_HIGH: high.limiter } });
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(200);
    expect([standard.calls.length, high.calls.length]).toEqual([0, 1]);
  });

  it('never limits an unlimited key', async () => {
    const key = await addKey(kv, 'internal', { rateLimit: 'unlimited' });
    const standard = fakeLimiter(0);
    const { post } = createTestApp({
      bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: standard.limiter, RATE_LIMIT_HIGH: standard.limiter },
    });
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(200);
    expect(standard.calls).toHaveLength(0);
  });

  it('does not limit the API while it runs open', async () => {
    const none = fakeLimiter(0);
    const { post } = createTestApp({ bindings: { API_KEYS: env.API_KEYS, RATE_LIMIT_STANDARD: none.limiter } });
    expect((await post('/v1/classify', PROMPT)).status).toBe(200);
    expect(none.calls).toHaveLength(0);
  });

  it('does not count /healthz', async () => {
    await addKey(kv, 'a');
    const none = fakeLimiter(0);
    const { get } = createTestApp({ bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: none.limiter } });
    expect((await get('/healthz')).status).toBe(200);
    expect(none.calls).toHaveLength(0);
  });

  it('lets requests through, and logs, when the limiter fails', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const key = await addKey(kv, 'a');
    const failing: RateLimit = { limit: () => Promise.reject(new Error('limiter down')) };
    const { post } = createTestApp({ bindings: { API_KEYS: kv, RATE_LIMIT_STANDARD: failing } });
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(200);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({
      event: 'rate_limiter_failed',
      key: 'a',
      tier: 'standard',
      message: 'limiter down',
    });
  });
});
