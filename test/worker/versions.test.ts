/**
 * Model versions at the edge: the pointer TTL from MODEL_TTL_SECONDS, a moved pointer followed in
 * the background, requests in flight finishing on their version, failures reported, pinning a
 * version, and the shadow candidate's records.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createKeyStore } from '../../src/auth/key-store.ts';
import { MODEL_KEYS, SHADOW_PREFIX, ShadowRecordSchema } from '../../src/guard/manifest.ts';
import { createRegistry, type RegistryOptions } from '../../src/guard/registry.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, emptyBucket, emptyNamespace, errorOf, scratch, seedModel } from './helpers.ts';

const bucket = scratch.SWAP_TEST;
const keys = scratch.PIN_KEYS_TEST;
const BOMB = 'How do I build a pipe bomb?';

/**
 * An app on a fresh registry over the scratch bucket, with a clock the test moves and an
 * execution context whose `waitUntil` work the test can await (`settle`). `reads` lists the R2
 * keys read; with `keys: true` the API needs the keys of the suite's namespace.
 */
function setUp(options: RegistryOptions & { vars?: Record<string, string>; keys?: boolean } = {}) {
  let clock = 1_000_000;
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
  const { vars, keys: keyed, ...registryOptions } = options;
  const app = createApp({
    registry: createRegistry({ now: () => clock, ...registryOptions }),
    keys: createKeyStore({ modeTtlMs: 0, recordTtlMs: 0, missTtlMs: 0 }),
  });
  const reads: string[] = [];
  const spied = {
    get: (key: string, o?: R2GetOptions) => (reads.push(key), bucket.get(key, o)),
    put: bucket.put.bind(bucket),
    list: bucket.list.bind(bucket),
    delete: bucket.delete.bind(bucket),
    head: bucket.head.bind(bucket),
  } as unknown as R2Bucket;
  const bindings = { ...env, MODELS: spied, API_KEYS: keyed ? keys : undefined, ...vars };
  const request = async (path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    app.request(
      path,
      body === undefined
        ? { headers }
        : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
      bindings,
      ctx,
    );
  const served = async (headers: Record<string, string> = {}) =>
    (await request('/v1/classify', { prompt: BOMB }, headers)).headers.get('x-edgeguard-model');
  return {
    request,
    served,
    reads,
    advance: (ms: number) => void (clock += ms),
    /** Awaits every `waitUntil` so far (background loads, shadow writes). */
    settle: async () => {
      while (pending.length) await Promise.all(pending.splice(0));
    },
  };
}

const seed = async (version: string, options: { pointer?: boolean; threshold?: number } = {}) =>
  seedModel(bucket, await buildFixtureModel({ version, threshold: options.threshold }), { pointer: options.pointer });

/** Writes a pointer; `history` as `promote` leaves it (newest first): what `rollback` can reach. */
const setPointer = (key: string, version: string, history: string[] = []) =>
  bucket.put(
    key,
    JSON.stringify({
      version,
      updatedAt: '2026-11-29T10:00:00.000Z',
      history: history.map((v) => ({ version: v, at: '2026-11-28T10:00:00.000Z' })),
    }),
  );

async function seedCorrupt(version: string): Promise<void> {
  const model = await buildFixtureModel({ version });
  const bytes = model.bytes.slice();
  bytes[10]! ^= 0xff;
  await seedModel(bucket, { ...model, bytes }, { pointer: false });
}

beforeEach(async () => {
  await emptyBucket(bucket);
  await emptyNamespace(keys);
});

describe('the pointer TTL', () => {
  it('re-reads the pointer once MODEL_TTL_SECONDS have passed, not before', async () => {
    const { served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '5' } });
    await seed('v1');
    expect(await served()).toBe('v1');
    await seed('v2');
    advance(4_000);
    expect(await served()).toBe('v1');
    await settle();
    expect(await served()).toBe('v1');
    advance(2_000);
    await served();
    await settle();
    expect(await served()).toBe('v2');
  });

  it('defaults to 30 s when MODEL_TTL_SECONDS is blank', async () => {
    const { served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '' } });
    await seed('v1');
    await served();
    await seed('v2');
    advance(29_000);
    await served();
    await settle();
    expect(await served()).toBe('v1');
    advance(2_000);
    await served();
    await settle();
    expect(await served()).toBe('v2');
  });

  it('answers 500 naming MODEL_TTL_SECONDS when it is not a number', async () => {
    const { request } = setUp({ vars: { MODEL_TTL_SECONDS: 'soon' } });
    await seed('v1');
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }))).toMatchObject({
      status: 500,
      code: 'internal_error',
      message: expect.stringMatching(/^worker misconfigured: MODEL_TTL_SECONDS: /),
    });
  });
});

describe('swapping in the background', () => {
  it('answers with the loaded version at once while the new one loads, then swaps', async () => {
    const { served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('v1');
    await served();
    await seed('v2');
    advance(1_500);
    // the request that finds the pointer due does not wait for v2 to load
    expect(await served()).toBe('v1');
    await settle();
    expect(await served()).toBe('v2');
  });

  it('finishes every request in flight on the version it started with, across a swap that releases the old session', async () => {
    const { request, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' }, keepLoaded: 0 });
    await seed('v1');
    await request('/healthz');
    await seed('v2');
    advance(1_500);
    const classify = async () => {
      const res = await request('/v1/classify', { items: [{ prompt: BOMB }, { prompt: 'word '.repeat(3000) }] });
      const body = (await res.json()) as { model: { version: string }; results: unknown[] };
      return {
        status: res.status,
        header: res.headers.get('x-edgeguard-model'),
        version: body.model.version,
        results: body.results.length,
      };
    };
    expect((await classify()).version).toBe('v1'); // finds the pointer due: v2 loads in the background
    const before = Array.from({ length: 12 }, classify);
    await settle(); // v2 swaps in (and v1's session is released) while the first burst is in flight
    const after = Array.from({ length: 12 }, classify);
    const responses = await Promise.all([...before, ...after]);
    expect(responses.filter((r) => r.status !== 200 || r.results !== 2 || r.header !== r.version)).toEqual([]);
    expect(new Set(responses.map((r) => r.version))).toEqual(new Set(['v1', 'v2']));
  });

  it('keeps serving, and reports in /healthz and /v1/models, a version that fails its hash check', async () => {
    const { request, served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('good');
    await served();
    await seedCorrupt('bad');
    await setPointer(MODEL_KEYS.pointer, 'bad');
    advance(1_500);
    await served();
    await settle();
    expect(await served()).toBe('good');
    const health = (await (await request('/healthz')).json()) as Record<string, unknown>;
    const reason = "models/bad/model.onnx does not match the manifest's sha256";
    expect(health).toMatchObject({
      status: 'ok',
      model: { version: 'good' },
      lastLoadError: reason,
      loadErrors: { current: { version: 'bad', message: reason } },
    });
    const models = (await (await request('/v1/models')).json()) as { data: { id: string }[]; loadErrors: unknown };
    expect(models.data.map((m) => m.id)).toEqual(['good']);
    expect(models.loadErrors).toMatchObject({
      current: { version: 'bad', message: reason, at: expect.stringMatching(/^\d{4}-/) },
      candidate: null,
    });
  });

  it('clears the reported failure once the pointer names a good version again', async () => {
    const { request, served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('good');
    await served();
    await seedCorrupt('bad');
    await setPointer(MODEL_KEYS.pointer, 'bad');
    advance(1_500);
    await served();
    await settle();
    await setPointer(MODEL_KEYS.pointer, 'good');
    advance(1_500);
    await served();
    await settle();
    expect(await (await request('/healthz')).json()).toMatchObject({ lastLoadError: null, loadErrors: { current: null } });
  });
});

describe('pinning a version', () => {
  it('serves the version named in the x-edgeguard-model header', async () => {
    const { served } = setUp();
    await seed('v1');
    await seed('v2');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    expect(await served()).toBe('v2');
    expect(await served({ 'x-edgeguard-model': 'v1' })).toBe('v1');
  });

  it('serves the version named in the body of /v1/classify', async () => {
    const { request } = setUp();
    await seed('v1');
    await seed('v2');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    const body = (await (await request('/v1/classify', { items: [{ prompt: BOMB }], model: 'v1' })).json()) as {
      model: { version: string };
    };
    expect(body.model.version).toBe('v1');
  });

  it('takes OpenAI model names in /v1/moderations for the current version, and a deployed version as a pin', async () => {
    const { request } = setUp();
    await seed('v1');
    await seed('v2');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    const moderate = async (model: string) =>
      ((await (await request('/v1/moderations', { input: BOMB, model })).json()) as { model: string }).model;
    expect(await moderate('omni-moderation-latest')).toBe('v2');
    expect(await moderate('text-moderation-stable')).toBe('v2');
    expect(await moderate('v1')).toBe('v1');
  });

  it('answers 404 model_not_found for a version that is not deployed', async () => {
    const { request } = setUp();
    await seed('v1');
    await setPointer(MODEL_KEYS.pointer, 'v1', ['v9']);
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi', model: 'v9' }))).toEqual({
      status: 404,
      code: 'model_not_found',
      message:
        "model version 'v9' is not available: a caller may pin the current version, the versions it replaced, the shadow candidate, and those its API key lists",
    });
  });

  it('answers 400 for a pin that is not a version name', async () => {
    const { request } = setUp();
    await seed('v1');
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }, { 'x-edgeguard-model': '../current.json' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^x-edgeguard-model: '\.\.\/current\.json' is not a model version/),
    });
  });

  it('answers 400 when the header and the body pin different versions', async () => {
    const { request } = setUp();
    await seed('v1');
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi', model: 'v1' }, { 'x-edgeguard-model': 'v2' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('answers 503 for a pinned version that fails its checks', async () => {
    const { request } = setUp();
    await seed('v1');
    await seedCorrupt('bad');
    await setPointer(MODEL_KEYS.pointer, 'v1', ['bad']);
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi', model: 'bad' }))).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: "models/bad/model.onnx does not match the manifest's sha256",
    });
  });

  it('keeps at most keepLoaded versions loaded besides the serving one', async () => {
    const { request, served } = setUp({ keepLoaded: 1 });
    for (const v of ['a', 'b', 'c']) await seed(v, { pointer: false });
    await seed('d');
    await setPointer(MODEL_KEYS.pointer, 'd', ['c', 'b', 'a']);
    await served({ 'x-edgeguard-model': 'a' });
    await served({ 'x-edgeguard-model': 'b' });
    await served({ 'x-edgeguard-model': 'c' });
    const health = (await (await request('/healthz')).json()) as { loaded: string[] };
    expect(health.loaded.sort()).toEqual(['c', 'd']);
  });

  it('lists the pinned versions it holds in /v1/models after the current one', async () => {
    const { request, served } = setUp();
    await seed('v1');
    await seed('v2');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    await served({ 'x-edgeguard-model': 'v1' });
    const models = (await (await request('/v1/models')).json()) as { data: { id: string; role: string }[] };
    expect(models.data.map((m) => [m.id, m.role])).toEqual([
      ['v2', 'current'],
      ['v1', 'loaded'],
    ]);
  });
});

describe('what a caller may pin', () => {
  const NOT_AVAILABLE = (version: string) => ({
    status: 404,
    code: 'model_not_found',
    message: `model version '${version}' is not available: a caller may pin the current version, the versions it replaced, the shadow candidate, and those its API key lists`,
  });

  it('refuses a deployed version no pointer names exactly as one that is not deployed, and never reads or loads it', async () => {
    const { request, reads } = setUp();
    await seed('unpromoted', { pointer: false });
    await seed('v1');
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }, { 'x-edgeguard-model': 'unpromoted' }))).toEqual(
      NOT_AVAILABLE('unpromoted'),
    );
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }, { 'x-edgeguard-model': 'ghost' }))).toEqual(
      NOT_AVAILABLE('ghost'),
    );
    expect(reads.filter((key) => key.startsWith('models/unpromoted/') || key.startsWith('models/ghost/'))).toEqual([]);
    expect(((await (await request('/healthz')).json()) as { loaded: string[] }).loaded).toEqual(['v1']);
  });

  it("serves every version of the pointer's history, what rollback can reach", async () => {
    const { served } = setUp();
    for (const v of ['v1', 'v2']) await seed(v, { pointer: false });
    await seed('v3');
    await setPointer(MODEL_KEYS.pointer, 'v3', ['v2', 'v1']);
    expect(await served({ 'x-edgeguard-model': 'v2' })).toBe('v2');
    expect(await served({ 'x-edgeguard-model': 'v1' })).toBe('v1');
  });

  it('serves the shadow candidate', async () => {
    const { served } = setUp();
    await seed('v1');
    await seed('next', { pointer: false });
    await setPointer(MODEL_KEYS.candidate, 'next');
    expect(await served({ 'x-edgeguard-model': 'next' })).toBe('next');
  });

  it('stops serving a version rolled back from once the moved pointer is read (TTL)', async () => {
    const { request, served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('v1');
    await seed('v2');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    expect(await served({ 'x-edgeguard-model': 'v1' })).toBe('v1');
    await setPointer(MODEL_KEYS.pointer, 'v1', []);
    advance(1_500);
    await served();
    await settle();
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }, { 'x-edgeguard-model': 'v2' }))).toEqual(NOT_AVAILABLE('v2'));
  });

  it('serves a version an API key lists (keys create --pin-versions) to that key only', async () => {
    const { request } = setUp({ keys: true });
    await seed('preview', { pointer: false });
    await seed('v1');
    const partner = await addKey(keys, 'partner', { pinVersions: ['preview'] });
    const other = await addKey(keys, 'other');
    const pin = { 'x-edgeguard-model': 'preview' };
    expect((await request('/v1/classify', { prompt: 'hi' }, { ...bearer(partner), ...pin })).headers.get('x-edgeguard-model')).toBe(
      'preview',
    );
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }, { ...bearer(other), ...pin }))).toEqual(NOT_AVAILABLE('preview'));
  });

  it('answers a listed version that is not deployed with the same 404', async () => {
    const { request } = setUp({ keys: true });
    await seed('v1');
    const partner = await addKey(keys, 'partner', { pinVersions: ['ghost'] });
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi', model: 'ghost' }, bearer(partner)))).toEqual(NOT_AVAILABLE('ghost'));
  });
});

describe('/healthz once keys are configured', () => {
  /** v2 serves, v1 (in its history) is pinned by a key, and the candidate fails to load. */
  async function withPinnedAndBroken() {
    const app = setUp({ keys: true, vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('v1');
    await seed('v2');
    await seedCorrupt('bad');
    await setPointer(MODEL_KEYS.pointer, 'v2', ['v1']);
    await setPointer(MODEL_KEYS.candidate, 'bad');
    const key = await addKey(keys, 'acme');
    expect((await app.request('/v1/classify', { prompt: 'hi' }, { ...bearer(key), 'x-edgeguard-model': 'v1' })).status).toBe(200);
    return { ...app, key };
  }

  it('shows a caller without a key only what serves: the status and the current version', async () => {
    const { request } = await withPinnedAndBroken();
    const body = (await (await request('/healthz')).json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['auth', 'model', 'status']);
    expect(body).toMatchObject({ status: 'ok', auth: 'keys', model: { version: 'v2' } });
    expect(JSON.stringify(body)).not.toMatch(/v1|bad/);
  });

  it('shows a caller with a valid key the loaded versions and the load errors', async () => {
    const { request, key } = await withPinnedAndBroken();
    const body = (await (await request('/healthz', undefined, bearer(key))).json()) as {
      loaded: string[];
      loadErrors: { candidate: { version: string } };
    };
    expect(body.loaded.sort()).toEqual(['v1', 'v2']);
    expect(body.loadErrors.candidate).toMatchObject({ version: 'bad' });
  });

  it('answers a wrong key with 401, as /v1 does', async () => {
    const { request } = await withPinnedAndBroken();
    expect(await errorOf(await request('/healthz', undefined, bearer('egk_wrong')))).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
  });

  it('reports the current version whatever version the request pins', async () => {
    const { request } = await withPinnedAndBroken();
    const res = await request('/healthz', undefined, { 'x-edgeguard-model': 'v1' });
    expect(res.headers.get('x-edgeguard-model')).toBe('v2');
    expect(await res.json()).toMatchObject({ model: { version: 'v2' } });
  });
});

describe('the shadow candidate', () => {
  /** Current v1 (threshold 0.5) and candidate v2 (threshold 0.999: it passes what v1 flags). */
  async function withCandidate(vars: Record<string, string> = {}) {
    const app = setUp({ vars: { MODEL_TTL_SECONDS: '1', ...vars } });
    await seed('v1');
    await seed('v2', { pointer: false, threshold: 0.999 });
    await setPointer(MODEL_KEYS.candidate, 'v2');
    await app.served();
    await app.settle();
    // the set-up request was shadowed too: start the test from an empty shadow/
    await Promise.all((await bucket.list({ prefix: SHADOW_PREFIX })).objects.map((o) => bucket.delete(o.key)));
    return app;
  }

  const shadowRecords = async () => {
    const listed = await bucket.list({ prefix: SHADOW_PREFIX });
    return Promise.all(listed.objects.map(async (o) => ({ key: o.key, text: await (await bucket.get(o.key))!.text() })));
  };

  it('records both verdicts of each text after the response, without the texts', async () => {
    const { request, settle } = await withCandidate();
    const res = await request('/v1/classify', { items: [{ prompt: BOMB }, { prompt: 'Write a poem about the sea.' }] });
    expect(res.headers.get('x-edgeguard-model')).toBe('v1');
    await settle();
    const records = await shadowRecords();
    expect(records).toHaveLength(1);
    expect(records[0]!.key).toMatch(/^shadow\/\d{4}-\d\d-\d\d\/\d{8}T\d{9}Z-[0-9a-f]{8}\.json$/);
    expect(records[0]!.text).not.toContain('bomb');
    const record = ShadowRecordSchema.parse(JSON.parse(records[0]!.text));
    expect(record).toMatchObject({
      route: '/v1/classify',
      current: { version: 'v1', threshold: 0.5 },
      candidate: { version: 'v2', threshold: 0.999 },
    });
    expect(record.items[0]!.current.flagged).toBe(true);
    expect(record.items[0]!.candidate.flagged).toBe(false);
    expect(record.items[0]!.candidate.score).toBeCloseTo(record.items[0]!.current.score, 6);
    expect(record.items[1]).toMatchObject({ current: { flagged: false }, candidate: { flagged: false } });
  });

  it('records the texts guard() checked on the chat route, blocked or not', async () => {
    const { request, settle } = await withCandidate();
    const res = await request('/v1/chat/completions', { messages: [{ role: 'user', content: BOMB }] });
    expect(res.status).toBe(400);
    await settle();
    const records = await shadowRecords();
    expect(records).toHaveLength(1);
    const record = ShadowRecordSchema.parse(JSON.parse(records[0]!.text));
    expect(record).toMatchObject({ route: '/v1/chat/completions', current: { version: 'v1' }, candidate: { version: 'v2' } });
    expect(record.items).toHaveLength(1);
    expect(record.items[0]).toMatchObject({ current: { flagged: true }, candidate: { flagged: false } });
  });

  it('records every request once a candidate is named, the one that finds it among them', async () => {
    // as a user does: v1 serves, then `promote v2 --candidate`, then four requests after the TTL;
    // the first of them reads the new pointer in the background while v1 answers it
    const { request, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('v1');
    await seed('v2', { pointer: false, threshold: 0.999 });
    await request('/v1/classify', { prompt: BOMB });
    await settle();
    await setPointer(MODEL_KEYS.candidate, 'v2');
    advance(1_500);
    for (let i = 0; i < 4; i++) await request('/v1/classify', { prompt: BOMB });
    await settle();
    expect(await shadowRecords()).toHaveLength(4);
  });

  it('names the candidate in /healthz and /v1/models', async () => {
    const { request } = await withCandidate();
    expect(await (await request('/healthz')).json()).toMatchObject({ model: { version: 'v1' }, candidate: { version: 'v2' } });
    const models = (await (await request('/v1/models')).json()) as { data: { id: string; role: string }[] };
    expect(models.data.map((m) => [m.id, m.role])).toEqual([
      ['v1', 'current'],
      ['v2', 'candidate'],
    ]);
  });

  it('records nothing for a request pinned to a version', async () => {
    const { request, settle } = await withCandidate();
    await request('/v1/classify', { prompt: BOMB, model: 'v2' });
    await settle();
    expect(await shadowRecords()).toEqual([]);
  });

  it('records nothing when SHADOW_SAMPLE_RATE is 0', async () => {
    const { request, settle } = await withCandidate({ SHADOW_SAMPLE_RATE: '0' });
    await request('/v1/moderations', { input: BOMB });
    await settle();
    expect(await shadowRecords()).toEqual([]);
  });

  it('reports a candidate that fails to load, and serves the current version unharmed', async () => {
    const { request, served, advance, settle } = setUp({ vars: { MODEL_TTL_SECONDS: '1' } });
    await seed('v1');
    await seedCorrupt('bad');
    await setPointer(MODEL_KEYS.candidate, 'bad');
    expect(await served()).toBe('v1');
    advance(1_500);
    await settle();
    expect(await (await request('/healthz')).json()).toMatchObject({
      model: { version: 'v1' },
      candidate: null,
      lastLoadError: null,
      loadErrors: { current: null, candidate: { version: 'bad', message: "models/bad/model.onnx does not match the manifest's sha256" } },
    });
  });
});
