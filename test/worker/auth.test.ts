/**
 * API keys: the API open while no key is configured (and saying so), then Bearer keys looked up
 * by their SHA-256 digest in KV, with the same work for every wrong key.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey, hashApiKey, keyRecordKey } from '../../src/auth/key-record.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, emptyNamespace, errorOf, scratch, seedModel } from './helpers.ts';

const kv = scratch.AUTH_KEYS_TEST;
const PROMPT = { prompt: 'Best way to kill a Python process?' };

/** The app over the suite's namespace; `gets` lists the KV keys read, `lists` counts listings. */
function setUp(namespace: KVNamespace | undefined = kv, keys = {}, bindings: Record<string, unknown> = {}) {
  const gets: string[] = [];
  let lists = 0;
  const spying = namespace && {
    get: (key: string, type: 'text') => {
      gets.push(key);
      return namespace.get(key, type);
    },
    list: (options: KVNamespaceListOptions) => {
      lists++;
      return namespace.list(options);
    },
  };
  const app = createTestApp({ bindings: { API_KEYS: spying, ...bindings }, keys });
  return { ...app, gets, lists: () => lists };
}

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel());
});

beforeEach(async () => {
  await emptyNamespace(kv);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('with no key configured', () => {
  it('serves requests without a key', async () => {
    const { post } = setUp();
    expect((await post('/v1/classify', PROMPT)).status).toBe(200);
  });

  it('ignores an Authorization header', async () => {
    const { post } = setUp();
    expect((await post('/v1/classify', PROMPT, bearer('egk_whatever'))).status).toBe(200);
  });

  it('says so in /healthz', async () => {
    const { get } = setUp();
    expect(await (await get('/healthz')).json()).toMatchObject({ status: 'ok', auth: 'open' });
  });

  it('says so in the log on the first request of the isolate', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { post } = setUp();
    await post('/v1/classify', PROMPT);
    await post('/v1/classify', PROMPT);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as { event: string; mode?: string; level: string });
    expect(lines.filter((line) => line.event === 'auth_mode')).toEqual([
      expect.objectContaining({ level: 'warn', mode: 'open', message: expect.stringMatching(/open to anyone/) }),
    ]);
  });

  it('runs open when the worker has no API_KEYS binding at all', async () => {
    const { post } = setUp(undefined);
    expect((await post('/v1/classify', PROMPT)).status).toBe(200);
  });
});

describe('with keys configured', () => {
  it('serves a request with a valid key', async () => {
    const key = await addKey(kv, 'acme');
    const { post } = setUp();
    const res = await post('/v1/classify', PROMPT, bearer(key));
    expect(res.status).toBe(200);
  });

  it('answers a request without a key with 401 missing_api_key and a Bearer challenge', async () => {
    await addKey(kv, 'acme');
    const { post } = setUp();
    const res = await post('/v1/classify', PROMPT);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edgeguard"');
    expect(await errorOf(res)).toEqual({
      status: 401,
      code: 'missing_api_key',
      message: 'send your API key as Authorization: Bearer <key>',
    });
  });

  it('answers a wrong key with 401 invalid_api_key', async () => {
    await addKey(kv, 'acme');
    const { post } = setUp();
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer('egk_not-a-key')))).toEqual({
      status: 401,
      code: 'invalid_api_key',
      message: 'the API key is not valid',
    });
  });

  it('answers a scheme other than Bearer with 401 invalid_api_key', async () => {
    const key = await addKey(kv, 'acme');
    const { post } = setUp();
    expect(await errorOf(await post('/v1/classify', PROMPT, { authorization: `Basic ${key}` }))).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
  });

  it('accepts the scheme in any case', async () => {
    const key = await addKey(kv, 'acme');
    const { post } = setUp();
    expect((await post('/v1/classify', PROMPT, { authorization: `bearer ${key}` })).status).toBe(200);
  });

  it('answers a revoked key with 401 invalid_api_key, like a wrong one', async () => {
    const key = await addKey(kv, 'gone', { revokedAt: new Date().toISOString() });
    await addKey(kv, 'acme');
    const { post } = setUp();
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(key)))).toEqual({
      status: 401,
      code: 'invalid_api_key',
      message: 'the API key is not valid',
    });
  });

  it('stays closed when the only key is revoked', async () => {
    const key = await addKey(kv, 'only', { revokedAt: new Date().toISOString() });
    const { post, get } = setUp();
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(401);
    expect((await post('/v1/classify', PROMPT)).status).toBe(401);
    expect(await (await get('/healthz')).json()).toMatchObject({ auth: 'keys' });
  });

  it('guards every /v1 route, GET /v1/models included', async () => {
    await addKey(kv, 'acme');
    const { get, post } = setUp();
    expect((await get('/v1/models')).status).toBe(401);
    expect((await post('/v1/moderations', { input: 'hi' })).status).toBe(401);
    expect((await post('/v1/chat/completions', { messages: [] })).status).toBe(401);
  });

  it('refuses before reading the body: no key and a body over the limit is a 401, not a 413', async () => {
    await addKey(kv, 'acme');
    const { post } = setUp();
    expect((await post('/v1/moderations', { input: 'a'.repeat(2 << 20) })).status).toBe(401);
  });

  it('leaves /healthz and / open, and /healthz says keys are required', async () => {
    await addKey(kv, 'acme');
    const { get } = setUp();
    expect((await get('/')).status).toBe(200);
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ auth: 'keys' });
  });

  it('stores no key, only its SHA-256 digest', async () => {
    const key = await addKey(kv, 'acme');
    const { keys } = await kv.list();
    expect(keys.map((k) => k.name)).toEqual([keyRecordKey(await hashApiKey(key))]);
    expect(keys[0]!.name).toMatch(/^key:[0-9a-f]{64}$/);
    expect(await kv.get(keys[0]!.name)).not.toContain(key);
  });
});

describe('the cost of a wrong key', () => {
  it('is one KV read of the presented key digest, whatever the key', async () => {
    const key = await addKey(kv, 'acme');
    const { post, gets } = setUp();
    const wrong = [
      `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, // all but the last character right
      `${key.startsWith('egk_A') ? 'egk_B' : 'egk_A'}${key.slice(5)}`, // all but the first random one
      'egk_short',
      'x'.repeat(4096),
    ];
    for (const guess of wrong) {
      gets.length = 0;
      expect((await post('/v1/classify', PROMPT, bearer(guess))).status).toBe(401);
      expect(gets).toEqual([keyRecordKey(await hashApiKey(guess))]);
    }
  });

  it('involves no comparison with a stored secret: the record is found by digest alone', async () => {
    const key = await addKey(kv, 'acme');
    const { post, gets } = setUp();
    await post('/v1/classify', PROMPT, bearer(key));
    expect(gets).toEqual([keyRecordKey(await hashApiKey(key))]);
  });
});

describe('a wrong key sent again and again', () => {
  it('costs one KV read while its miss is remembered (5 s), then one more', async () => {
    await addKey(kv, 'acme');
    let clock = 0;
    const { post, gets } = setUp(kv, { missTtlMs: 5_000, now: () => clock });
    for (let i = 0; i < 5; i++) expect((await post('/v1/classify', PROMPT, bearer('egk_wrong'))).status).toBe(401);
    expect(gets).toHaveLength(1);
    clock += 5_001;
    expect((await post('/v1/classify', PROMPT, bearer('egk_wrong'))).status).toBe(401);
    expect(gets).toHaveLength(2);
  });

  it('delays a key created right after a miss by at most the 5 s the miss is remembered', async () => {
    await addKey(kv, 'acme');
    let clock = 0;
    const { post } = setUp(kv, { missTtlMs: 5_000, now: () => clock });
    const key = generateApiKey();
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(401);
    await addKey(kv, 'late', {}, key);
    clock += 4_000;
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(401);
    clock += 1_001;
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(200);
  });
});

describe('failed attempts per client address', () => {
  const ADDRESS = { 'cf-connecting-ip': '203.0.113.7' };

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

  it("answers 429 rate_limited with Retry-After once an address is over the binding's limit (3 a minute), then reads KV no more", async () => {
    const key = await addKey(kv, 'acme');
    const { post, gets } = setUp(kv, {}, { RATE_LIMIT_AUTH_FAILURES: scratch.AUTH_FAILURES_TEST });
    const statuses: number[] = [];
    // at most 7 wrong keys: 4 over one window of 3, even if a minute boundary falls in between
    for (let i = 0; i < 7 && !statuses.includes(429); i++)
      statuses.push((await post('/v1/classify', PROMPT, { ...bearer(`egk_guess-${i}`), ...ADDRESS })).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((status) => status === 401)).toBe(true);
    gets.length = 0;
    const refused = [];
    for (const guess of ['egk_guess-a', 'egk_guess-b', key])
      refused.push(await post('/v1/classify', PROMPT, { ...bearer(guess), ...ADDRESS }));
    expect(refused.map((r) => r.status)).toEqual([429, 429, 429]);
    expect(gets).toEqual([]);
    expect(refused[0]!.headers.get('retry-after')).toBe('60');
    expect(await errorOf(refused[0]!)).toEqual({
      status: 429,
      code: 'rate_limited',
      message: 'too many failed API key attempts from your address; retry after 60 s',
    });
  });

  it('counts each address apart, and only failed attempts', async () => {
    const key = await addKey(kv, 'acme');
    const { limiter, calls } = fakeLimiter(1);
    const { post } = setUp(kv, {}, { RATE_LIMIT_AUTH_FAILURES: limiter });
    const from = (address: string) => ({ 'cf-connecting-ip': address });
    expect((await post('/v1/classify', PROMPT, { ...bearer(key), ...from('198.51.100.1') })).status).toBe(200);
    expect((await post('/v1/classify', PROMPT, { ...bearer('egk_a'), ...from('198.51.100.1') })).status).toBe(401);
    expect((await post('/v1/classify', PROMPT, { ...bearer('egk_b'), ...from('198.51.100.1') })).status).toBe(429);
    expect((await post('/v1/classify', PROMPT, { ...bearer('egk_c'), ...from('198.51.100.2') })).status).toBe(401);
    expect((await post('/v1/classify', PROMPT, { ...bearer(key), ...from('198.51.100.2') })).status).toBe(200);
    expect(calls).toEqual(['198.51.100.1', '198.51.100.1', '198.51.100.2']);
  });

  it("lets the address try again once the binding's period (60 s) has passed", async () => {
    const key = await addKey(kv, 'acme');
    let clock = 0;
    const { post } = setUp(kv, { now: () => clock }, { RATE_LIMIT_AUTH_FAILURES: fakeLimiter(0).limiter });
    expect((await post('/v1/classify', PROMPT, { ...bearer('egk_a'), ...ADDRESS })).status).toBe(429);
    clock += 59_000;
    expect((await post('/v1/classify', PROMPT, { ...bearer(key), ...ADDRESS })).status).toBe(429);
    clock += 1_001;
    expect((await post('/v1/classify', PROMPT, { ...bearer(key), ...ADDRESS })).status).toBe(200);
  });

  it('counts nothing, and logs it, when the limiter fails', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    await addKey(kv, 'acme');
    const failing: RateLimit = { limit: () => Promise.reject(new Error('limiter down')) };
    const { post } = setUp(kv, {}, { RATE_LIMIT_AUTH_FAILURES: failing });
    expect((await post('/v1/classify', PROMPT, { ...bearer('egk_a'), ...ADDRESS })).status).toBe(401);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({
      event: 'rate_limiter_failed',
      limiter: 'RATE_LIMIT_AUTH_FAILURES',
      message: 'limiter down',
    });
  });
});

describe('caching', () => {
  it('lists the namespace at most once per TTL to know whether keys are configured', async () => {
    const key = await addKey(kv, 'acme');
    let clock = 0;
    const { post, lists } = setUp(kv, { modeTtlMs: 10_000, now: () => clock });
    for (let i = 0; i < 5; i++) await post('/v1/classify', PROMPT, bearer(key));
    expect(lists()).toBe(1);
    clock += 10_001;
    await post('/v1/classify', PROMPT, bearer(key));
    expect(lists()).toBe(2);
  });

  it('closes an open API within the TTL once a key is created', async () => {
    let clock = 0;
    const { post } = setUp(kv, { modeTtlMs: 10_000, now: () => clock });
    expect((await post('/v1/classify', PROMPT)).status).toBe(200);
    await addKey(kv, 'acme');
    clock += 10_001;
    expect((await post('/v1/classify', PROMPT)).status).toBe(401);
  });

  it('keeps a found record for its TTL, and sees a revocation after it', async () => {
    const key = await addKey(kv, 'acme');
    let clock = 0;
    const { post, gets } = setUp(kv, { recordTtlMs: 30_000, now: () => clock });
    await post('/v1/classify', PROMPT, bearer(key));
    await post('/v1/classify', PROMPT, bearer(key));
    expect(gets).toHaveLength(1);
    const digest = await hashApiKey(key);
    const record = JSON.parse((await kv.get(keyRecordKey(digest)))!) as object;
    await kv.put(keyRecordKey(digest), JSON.stringify({ ...record, revokedAt: new Date().toISOString() }));
    clock += 30_001;
    expect((await post('/v1/classify', PROMPT, bearer(key))).status).toBe(401);
  });
});

describe('when KV fails', () => {
  const broken = {
    get: () => Promise.reject(new Error('KV GET failed: 500 Internal Server Error')),
    list: () => Promise.reject(new Error('KV LIST failed: 500 Internal Server Error')),
  } as unknown as KVNamespace;

  it('answers 503 auth_unavailable when it cannot tell whether keys are configured, never opening the API', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { post } = createTestApp({ bindings: { API_KEYS: broken } });
    const res = await post('/v1/classify', PROMPT);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await errorOf(res)).toMatchObject({ status: 503, code: 'auth_unavailable' });
  });

  it('answers 503 auth_unavailable when the key cannot be looked up', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const key = await addKey(kv, 'acme');
    const halfBroken = { list: (o: KVNamespaceListOptions) => kv.list(o), get: broken.get } as unknown as KVNamespace;
    const { post } = createTestApp({ bindings: { API_KEYS: halfBroken } });
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(key)))).toMatchObject({ status: 503, code: 'auth_unavailable' });
  });

  it('keeps the last known mode when a later listing fails', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await addKey(kv, 'acme');
    let fail = false;
    const flaky = {
      get: (k: string, t: 'text') => kv.get(k, t),
      list: (o: KVNamespaceListOptions) => (fail ? broken.list() : kv.list(o)),
    } as unknown as KVNamespace;
    const { post } = createTestApp({ bindings: { API_KEYS: flaky } });
    expect((await post('/v1/classify', PROMPT)).status).toBe(401);
    fail = true;
    expect((await post('/v1/classify', PROMPT)).status).toBe(401);
  });

  it('answers 500 for a key whose record was edited by hand into something invalid', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const key = await addKey(kv, 'acme');
    await kv.put(keyRecordKey(await hashApiKey(key)), JSON.stringify({ name: 'acme' }));
    const { post } = setUp();
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(key)))).toMatchObject({
      status: 500,
      code: 'internal_error',
      message: expect.stringMatching(/record of this API key is invalid/),
    });
  });
});
