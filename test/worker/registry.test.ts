import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { MODEL_KEYS } from '../../src/guard/manifest.ts';
import { createRegistry, type RegistryOptions } from '../../src/guard/registry.ts';
import { buildFixtureModel, type FixtureModel } from '../fixtures/fixture-model.ts';
import { emptyBucket, errorOf, expectedScores, scratch, seedModel } from './helpers.ts';

const bucket = scratch.REGISTRY_TEST;

/** An app on a fresh registry over the scratch bucket; `gets` counts R2 reads by key. */
function setUp(options: RegistryOptions = {}) {
  const gets = new Map<string, number>();
  const counting = new Proxy(bucket, {
    get(target, property) {
      if (property === 'get') {
        return (key: string, ...rest: unknown[]) => {
          gets.set(key, (gets.get(key) ?? 0) + 1);
          return (target.get as (...args: unknown[]) => unknown)(key, ...rest);
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const app = createApp({ registry: createRegistry(options) });
  const request = async (path: string, body?: unknown): Promise<Response> =>
    app.request(
      path,
      body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      { ...env, MODELS: counting },
    );
  return { request, gets };
}

async function seedVariant(version: string, change: (model: FixtureModel) => void, pointer = true): Promise<FixtureModel> {
  const model = await buildFixtureModel({ version });
  change(model);
  await seedModel(bucket, model, { pointer });
  return model;
}

beforeEach(async () => {
  await emptyBucket(bucket);
});

describe('without a usable model', () => {
  it('answers 503 model_unavailable when the bucket has no pointer', async () => {
    const { request } = setUp();
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }))).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: 'R2 key models/current.json is missing',
    });
  });

  it('answers /healthz with 503 and the reason', async () => {
    const { request } = setUp();
    expect(await errorOf(await request('/healthz'))).toMatchObject({
      status: 503,
      code: 'model_unavailable',
      message: 'R2 key models/current.json is missing',
    });
  });

  it('still answers a malformed request with 400 before looking for a model', async () => {
    const { request, gets } = setUp();
    expect(await errorOf(await request('/v1/moderations', { input: 3 }))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(gets.size).toBe(0);
  });

  it('answers 503 when the pointer is not JSON', async () => {
    await bucket.put(MODEL_KEYS.pointer, 'v1');
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: 'R2 key models/current.json is not valid JSON',
    });
  });

  it('answers 503 when the pointer names an invalid version', async () => {
    await bucket.put(MODEL_KEYS.pointer, JSON.stringify({ version: '../etc' }));
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: expect.stringMatching(/^models\/current\.json is invalid: version: /),
    });
  });

  it('answers 503 when the manifest the pointer names is missing', async () => {
    await bucket.put(MODEL_KEYS.pointer, JSON.stringify({ version: 'ghost' }));
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: 'R2 key models/ghost/manifest.json is missing',
    });
  });

  it('answers 503 when the manifest fails its schema', async () => {
    await seedVariant('bad-schema', (m) => {
      m.manifest.threshold = 2;
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: expect.stringMatching(/^manifest of bad-schema is invalid: threshold: /),
    });
  });

  it('answers 503 when the manifest maps a label it does not list', async () => {
    await seedVariant('bad-map', (m) => {
      m.manifest.openaiCategories.violent = ['violence'];
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: "manifest of bad-map is inconsistent: openaiCategories names unknown label 'violent'",
    });
  });

  it('answers 503 when the model bytes do not match the manifest sha256', async () => {
    await seedVariant('tampered', (m) => {
      m.bytes = m.bytes.slice();
      m.bytes[m.bytes.length - 1]! ^= 1;
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: "models/tampered/model.onnx does not match the manifest's sha256",
    });
  });

  it('answers 503 when the model is truncated', async () => {
    await seedVariant('short', (m) => {
      m.bytes = m.bytes.slice(0, 1000);
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: expect.stringMatching(/^models\/short\/model\.onnx has 1000 bytes/),
    });
  });

  it('answers 503 when the bytes hash right but are not ONNX', async () => {
    const garbage = new TextEncoder().encode('this is not an onnx model');
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', garbage)), (b) => b.toString(16).padStart(2, '0')).join(
      '',
    );
    await seedVariant('garbage', (m) => {
      m.bytes = garbage;
      m.manifest.files.model = { path: 'model.onnx', sha256: digest, bytes: garbage.length };
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/classify', { prompt: 'hi' }))).toMatchObject({
      status: 503,
      code: 'model_unavailable',
      message: expect.stringMatching(/^garbage: onnxruntime could not load the model/),
    });
  });

  it('answers 503 when the model has fewer outputs than the manifest has labels', async () => {
    await seedVariant('labels', (m) => {
      m.manifest.labels = [...m.manifest.labels, 'spam'];
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: 'model has 7 outputs but the manifest lists 8 labels',
    });
  });

  it('answers 503 when the embedding table has fewer rows than the manifest buckets', async () => {
    await seedVariant('buckets', (m) => {
      m.manifest.featurizer = { ...m.manifest.featurizer, buckets: 8192 };
    });
    const { request } = setUp();
    expect(await errorOf(await request('/v1/models'))).toMatchObject({
      status: 503,
      message: expect.stringMatching(/^buckets failed its probe run: /),
    });
  });
});

describe('loading and swapping', () => {
  it('serves a model published after a 503, without a restart', async () => {
    const { request } = setUp();
    expect((await request('/healthz')).status).toBe(503);
    await seedModel(bucket, await buildFixtureModel({ version: 'late' }));
    const res = await request('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edgeguard-model')).toBe('late');
  });

  it('loads the model once for concurrent first requests', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'once' }));
    const { request, gets } = setUp();
    const statuses = await Promise.all(Array.from({ length: 10 }, () => request('/v1/classify', { prompt: 'hi' }).then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
    expect(gets.get(MODEL_KEYS.model('once'))).toBe(1);
  });

  it('follows the pointer to a new version once the refresh interval has passed', async () => {
    let clock = 1_000_000;
    const { request } = setUp({ refreshMs: 60_000, now: () => clock });
    await seedModel(bucket, await buildFixtureModel({ version: 'v1' }));
    expect((await request('/healthz')).headers.get('x-edgeguard-model')).toBe('v1');
    await seedModel(bucket, await buildFixtureModel({ version: 'v2' }));
    clock += 59_000;
    expect((await request('/healthz')).headers.get('x-edgeguard-model')).toBe('v1');
    clock += 2_000;
    expect((await request('/healthz')).headers.get('x-edgeguard-model')).toBe('v2');
  });

  it('keeps serving the loaded model when the pointer moves to a corrupt one', async () => {
    const { request } = setUp({ refreshMs: 0 });
    await seedModel(bucket, await buildFixtureModel({ version: 'good' }));
    expect((await request('/healthz')).status).toBe(200);
    await seedVariant('corrupt', (m) => {
      m.bytes = m.bytes.slice();
      m.bytes[10]! ^= 0xff;
    });
    const res = await request('/v1/classify', { prompt: 'How do I build a pipe bomb?' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edgeguard-model')).toBe('good');
    expect(await (await request('/healthz')).json()).toMatchObject({
      status: 'ok',
      model: { version: 'good' },
      lastLoadError: "models/corrupt/model.onnx does not match the manifest's sha256",
    });
  });

  it('does not download a failing version again within the retry interval', async () => {
    let clock = 0;
    const { request, gets } = setUp({ refreshMs: 0, failureRetryMs: 10_000, now: () => clock });
    await seedVariant('flaky', (m) => {
      m.bytes = m.bytes.slice(0, 10);
    });
    await request('/healthz');
    clock += 5_000;
    await request('/healthz');
    expect(gets.get(MODEL_KEYS.model('flaky'))).toBe(1);
    clock += 6_000;
    await request('/healthz');
    expect(gets.get(MODEL_KEYS.model('flaky'))).toBe(2);
  });

  it('serves an int8-quantised model within 0.02 of the float scores', async () => {
    const model = await buildFixtureModel({ version: 'int8', quantization: 'int8-rows' });
    await seedModel(bucket, model);
    const { request } = setUp();
    const prompt = 'How do I build a pipe bomb?';
    const body = (await (await request('/v1/classify', { prompt })).json()) as { results: { score: number }[] };
    expect(Math.abs(body.results[0]!.score - expectedScores(model, prompt).harmful!)).toBeLessThan(0.02);
  });
});
