/**
 * Faults and their defined outcomes: R2 unreachable, a corrupt or missing model, a model that
 * throws at load or at run, WASM running out of memory. Without a model the caller's fail mode
 * decides (closed: 503 model_unavailable, open: an unscored 200); with one, it keeps serving;
 * a run that fails fatally drops the session so the next request loads the model again.
 */
import * as ort from 'onnxruntime-web/wasm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MODEL_KEYS } from '../../src/guard/manifest.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, emptyBucket, errorOf, scratch, seedModel } from './helpers.ts';

const bucket = scratch.FAULTS_TEST;
const kv = scratch.POLICY_KEYS_TEST;
const PROMPT = { prompt: 'How do I build a pipe bomb?' };
/** The prototype of ORT's sessions: its `run` is where a run fails. */
const SESSION = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
const OOM = () => new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');

/**
 * The scratch bucket behind a switch: `down()` makes every call throw as an unreachable R2 does;
 * `gets` counts reads by key.
 */
function flakyBucket() {
  let unreachable = false;
  const gets = new Map<string, number>();
  const proxy = new Proxy(bucket, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (unreachable) return Promise.reject(new Error('Network connection lost.'));
        if (property === 'get') gets.set(String(args[0]), (gets.get(String(args[0])) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { bucket: proxy, gets, down: () => void (unreachable = true), up: () => void (unreachable = false) };
}

function setUp(registry = { refreshMs: 0 }) {
  const r2 = flakyBucket();
  const app = createTestApp({ bindings: { MODELS: r2.bucket, API_KEYS: kv }, registry });
  return { ...app, r2 };
}

let closedKey: string;
let openKey: string;

beforeEach(async () => {
  await emptyBucket(bucket);
  closedKey ??= await addKey(kv, 'faults-closed');
  openKey ??= await addKey(kv, 'faults-open', { failMode: 'open' });
  vi.spyOn(console, 'error').mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('R2 unreachable', () => {
  it('answers 503 model_unavailable naming the failure when no model is loaded yet', async () => {
    const { post, r2 } = setUp();
    r2.down();
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(closedKey)))).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: 'model registry failed: Network connection lost.',
    });
  });

  it('answers an unscored 200 to a key that fails open', async () => {
    const { post, r2 } = setUp();
    r2.down();
    const res = await post('/v1/classify', PROMPT, bearer(openKey));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      model: null,
      results: [{ score: null, flagged: false }],
      unavailable: { message: 'model registry failed: Network connection lost.' },
    });
  });

  it('keeps serving the loaded model and reports the failure in /healthz', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'steady' }));
    const { post, get, r2 } = setUp();
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    r2.down();
    const res = await post('/v1/classify', PROMPT, bearer(closedKey));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edgeguard-model')).toBe('steady');
    expect(await (await get('/healthz', bearer(closedKey))).json()).toMatchObject({
      status: 'ok',
      model: { version: 'steady' },
      lastLoadError: 'model registry failed: Network connection lost.',
    });
  });

  it('clears the reported failure once R2 answers again', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'steady' }));
    const { get, r2, settle } = setUp();
    await get('/healthz');
    r2.down();
    await get('/healthz');
    await settle();
    expect(await (await get('/healthz', bearer(closedKey))).json()).toMatchObject({
      lastLoadError: 'model registry failed: Network connection lost.',
    });
    r2.up();
    await get('/healthz');
    await settle();
    expect(await (await get('/healthz', bearer(closedKey))).json()).toMatchObject({ lastLoadError: null });
  });
});

describe('a corrupt or missing model', () => {
  it('answers 503 naming the missing model.onnx when only the manifest was uploaded', async () => {
    const model = await buildFixtureModel({ version: 'half' });
    await seedModel(bucket, model);
    await bucket.delete(MODEL_KEYS.model('half'));
    const { post } = setUp();
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(closedKey)))).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: 'R2 key models/half/model.onnx is missing',
    });
  });

  it('answers an unscored 200 for a corrupt model to a key that fails open', async () => {
    const model = await buildFixtureModel({ version: 'flipped' });
    const bytes = model.bytes.slice();
    bytes[10]! ^= 0xff;
    await seedModel(bucket, { ...model, bytes });
    const { post } = setUp();
    const res = await post('/v1/moderations', { input: 'hi' }, bearer(openKey));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      model: null,
      unavailable: { code: 'model_unavailable', message: "models/flipped/model.onnx does not match the manifest's sha256" },
    });
  });
});

describe('a model that throws at load', () => {
  it('keeps the previous model serving when the new version is bytes ORT rejects', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'good' }));
    const { post, get, settle } = setUp();
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    const garbage = new TextEncoder().encode('not an onnx model at all');
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', garbage)), (b) => b.toString(16).padStart(2, '0')).join(
      '',
    );
    const next = await buildFixtureModel({ version: 'garbage' });
    await seedModel(bucket, {
      bytes: garbage,
      manifest: { ...next.manifest, files: { model: { path: 'model.onnx', sha256, bytes: garbage.length } } },
    });
    await post('/v1/classify', PROMPT, bearer(closedKey));
    await settle();
    const res = await post('/v1/classify', PROMPT, bearer(closedKey));
    expect(res.headers.get('x-edgeguard-model')).toBe('good');
    expect(await (await get('/healthz', bearer(closedKey))).json()).toMatchObject({
      model: { version: 'good' },
      lastLoadError: expect.stringMatching(/^garbage: onnxruntime could not load the model/),
    });
  });
});

describe('a model that throws at run', () => {
  it('answers 503 model_unavailable for that request and keeps the model', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'runs' }));
    const { post, r2 } = setUp({ refreshMs: 60_000 });
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new Error('Non-zero status code returned while running Gather node'));
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(closedKey)))).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: 'model runs failed while scoring: onnxruntime run failed: Non-zero status code returned while running Gather node',
    });
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    expect(r2.gets.get(MODEL_KEYS.model('runs'))).toBe(1);
  });

  it('answers an unscored 200 to a key that fails open', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'runs' }));
    const { post } = setUp({ refreshMs: 60_000 });
    await post('/v1/classify', PROMPT, bearer(openKey));
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new Error('boom'));
    const res = await post('/v1/classify', PROMPT, bearer(openKey));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      model: null,
      unavailable: { message: 'model runs failed while scoring: onnxruntime run failed: boom' },
    });
  });

  it('lets the guarded chat route fail closed with 503', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'runs' }));
    const { post } = setUp({ refreshMs: 60_000 });
    await post('/v1/classify', PROMPT, bearer(closedKey));
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new Error('boom'));
    const res = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hello' }] }, bearer(closedKey));
    expect(await errorOf(res)).toMatchObject({ status: 503, code: 'model_unavailable' });
  });
});

describe('WASM out of memory', () => {
  it('answers 503 for the request that hit it, drops the session, and the next request reloads the model', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'oom' }));
    const { post, r2 } = setUp({ refreshMs: 60_000 });
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    const release = vi.spyOn(SESSION, 'release');
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(OOM());
    expect(await errorOf(await post('/v1/classify', PROMPT, bearer(closedKey)))).toMatchObject({
      status: 503,
      code: 'model_unavailable',
      message: 'model oom failed while scoring: onnxruntime run failed: WebAssembly.Memory.grow(): Maximum memory size exceeded',
    });
    const res = await post('/v1/classify', PROMPT, bearer(closedKey));
    expect(res.status).toBe(200);
    expect(r2.gets.get(MODEL_KEYS.model('oom'))).toBe(2);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('fails every request queued on the broken session with 503 or serves it, never a 500', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'oom' }));
    const { post } = setUp({ refreshMs: 60_000 });
    await post('/v1/classify', PROMPT, bearer(closedKey));
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(OOM());
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => post('/v1/classify', PROMPT, bearer(closedKey)).then((r) => r.status)),
    );
    expect(statuses[0]).toBe(503);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
  });

  it('logs the dropped session as a structured error', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'oom' }));
    const { post } = setUp({ refreshMs: 60_000 });
    await post('/v1/classify', PROMPT, bearer(closedKey));
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(OOM());
    await post('/v1/classify', PROMPT, bearer(closedKey));
    await post('/v1/classify', PROMPT, bearer(closedKey));
    const events = error.mock.calls.map(([line]) => JSON.parse(String(line)) as { event: string; version?: string });
    expect(events).toContainEqual(expect.objectContaining({ event: 'model_dropped', version: 'oom' }));
  });

  it('treats a WebAssembly trap like running out of memory', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'trap' }));
    const { post, r2 } = setUp({ refreshMs: 60_000 });
    await post('/v1/classify', PROMPT, bearer(closedKey));
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new WebAssembly.RuntimeError('memory access out of bounds'));
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(503);
    expect((await post('/v1/classify', PROMPT, bearer(closedKey))).status).toBe(200);
    expect(r2.gets.get(MODEL_KEYS.model('trap'))).toBe(2);
  });
});
