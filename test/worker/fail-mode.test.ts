/**
 * The fail mode, one behaviour on every surface that scores (issue 15): the API routes
 * (/v1/classify, /v1/moderations, the key's `failMode`), the worker's guarded chat route (the
 * key's `failMode` through `guard()`), `guard()` in any Hono app (its `failMode` option) scoring
 * in-process, through a service binding and over HTTP, and the service binding's RPC itself (the
 * caller's `policy.failMode`; issue 17).
 * When no model can score, `closed` answers 503 `model_unavailable` with the reason and `open`
 * lets the request through unscored, marked by `x-edgeguard-unscored`; a failure that is not the
 * model's is never hidden by failing open.
 */
import * as ort from 'onnxruntime-web/wasm';
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRegistry } from '../../src/guard/registry.ts';
import { guard } from '../../src/middleware/guard.ts';
import type { ClassifyRequest, RpcOptions } from '../../src/client/types.ts';
import { httpApi } from '../../src/middleware/scorers/http-api.ts';
import { inProcess } from '../../src/middleware/scorers/in-process.ts';
import { serviceBinding } from '../../src/middleware/scorers/service-binding.ts';
import { CLASSIFY, serveRpc } from '../../src/rpc/serve.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, emptyBucket, errorOf, scratch, seedModel } from './helpers.ts';

const bucket = scratch.FAIL_MODE_TEST;
const kv = scratch.FAIL_MODE_KEYS_TEST;
const VERSION = 'fail-mode-1';
const BENIGN = 'Best way to kill a Python process?';
/** An R2 bucket with nothing in it: no pointer, no model. */
const EMPTY = { get: async () => null, list: async () => ({ objects: [] }) } as unknown as R2Bucket;
/** The prototype of ORT's sessions: its `run` is where a run fails. */
const SESSION = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;

type FailMode = 'open' | 'closed';

/** What a request that got through unscored shows of it. */
interface Unscored {
  status: number;
  header: string | null;
  /** The reason, where the surface shows it (the chat route forwards the upstream's answer instead). */
  reason: string | null;
}

interface Surface {
  name: string;
  /**
   * A caller of this surface failing `failMode`, with `models` bound as the bucket (undefined:
   * none) and `vars` over the worker's. Its `send` posts one benign text; calls share a registry.
   */
  caller(failMode: FailMode, models: R2Bucket | undefined, vars?: Record<string, string>): Promise<{ send: () => Promise<Response> }>;
  /** Reads a response that let the request through without scores. */
  unscored(res: Response): Promise<Unscored>;
}

/** An API route of the worker, the fail mode being the API key's. */
function route(
  path: string,
  body: unknown,
  reason: (body: { model: unknown; unavailable?: { message: string } }) => string | null,
): Surface {
  return {
    name: `POST ${path}`,
    async caller(failMode, models, vars = {}) {
      const key = await addKey(kv, `fail-${failMode}`, { failMode, rateLimit: 'unlimited' });
      const app = createTestApp({ bindings: { API_KEYS: kv, MODELS: models, UPSTREAM_URL: 'https://upstream.test/v1', ...vars } });
      return { send: () => app.post(path, body, bearer(key)) };
    },
    async unscored(res) {
      return { status: res.status, header: res.headers.get('x-edgeguard-unscored'), reason: reason(await res.json()) };
    },
  };
}

const SURFACES: Surface[] = [
  route('/v1/classify', { prompt: BENIGN }, (body) => (body.model === null ? (body.unavailable?.message ?? null) : 'scored')),
  route('/v1/moderations', { input: BENIGN }, (body) => (body.model === null ? (body.unavailable?.message ?? null) : 'scored')),
  {
    ...route('/v1/chat/completions', { messages: [{ role: 'user', content: BENIGN }] }, () => null),
    async unscored(res) {
      // the guard let it through to the (fake) upstream, whose answer the caller gets
      expect(await res.json()).toEqual({ id: 'chatcmpl-1', choices: [] });
      return { status: res.status, header: res.headers.get('x-edgeguard-unscored'), reason: null };
    },
  },
  {
    name: 'guard() in any Hono app',
    async caller(failMode, models, vars = {}) {
      const app = new Hono().post(
        '/guarded',
        guard({ failMode, scorer: inProcess({ registry: createRegistry(), bucket: () => models }) }),
        (c) => c.json(c.var.guard),
      );
      const init = {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: BENIGN }] }),
      };
      return { send: async () => app.request('/guarded', init, { ...env, ...vars }) };
    },
    async unscored(res) {
      const verdict = (await res.json()) as { outcome: string; reason?: string };
      return {
        status: res.status,
        header: res.headers.get('x-edgeguard-unscored'),
        reason: verdict.outcome === 'unavailable' ? verdict.reason! : verdict.outcome,
      };
    },
  },
];

/**
 * An EdgeGuard worker's RPC `classify` on a registry of its own, with `models` bound and `vars`
 * over the worker's: what a consumer's service binding reaches.
 */
function rpcWorker(models: R2Bucket | undefined, vars: Record<string, string> = {}) {
  const source = { registry: createRegistry(), bucket: models, vars: { ...env, ...vars } };
  return { classify: (request: ClassifyRequest, options?: RpcOptions) => serveRpc(source, CLASSIFY, request, options) };
}

/** A Hono app whose one route `guard()` guards, answering its verdict. */
function guardedApp(options: Parameters<typeof guard>[0]) {
  const app = new Hono().post('/guarded', guard(options), (c) => c.json(c.var.guard));
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: BENIGN }] }),
  };
  return { send: async () => app.request('/guarded', init, env) };
}

/** The verdict guardedApp() answers, read for the reason of an unscored request. */
async function guardedUnscored(res: Response): Promise<Unscored> {
  const verdict = (await res.json()) as { outcome: string; reason?: string };
  return {
    status: res.status,
    header: res.headers.get('x-edgeguard-unscored'),
    reason: verdict.outcome === 'unavailable' ? verdict.reason! : verdict.outcome,
  };
}

SURFACES.push(
  {
    name: 'the service binding (RPC classify)',
    async caller(failMode, models, vars = {}) {
      const worker = rpcWorker(models, vars);
      // the RPC answer read as the HTTP API's: the model from the body, an error as its status and body
      return {
        send: async () => {
          const result = await worker.classify({ prompt: BENIGN }, { policy: { failMode } });
          if (!result.ok)
            return Response.json({ error: { code: result.error.code, message: result.error.message } }, { status: result.error.status! });
          const { data } = result;
          return Response.json(data, {
            headers: data.model === null ? { 'x-edgeguard-unscored': data.unavailable.code } : { 'x-edgeguard-model': data.model.version },
          });
        },
      };
    },
    async unscored(res) {
      const body = (await res.json()) as { model: unknown; unavailable?: { message: string } };
      return {
        status: res.status,
        header: res.headers.get('x-edgeguard-unscored'),
        reason: body.model === null ? (body.unavailable?.message ?? null) : 'scored',
      };
    },
  },
  {
    name: 'guard() through a service binding',
    async caller(failMode, models, vars = {}) {
      const worker = rpcWorker(models, vars);
      return guardedApp({ failMode, scorer: serviceBinding(() => worker) });
    },
    unscored: guardedUnscored,
  },
  {
    name: 'guard() over the HTTP API',
    async caller(failMode, models, vars = {}) {
      const key = await addKey(kv, `fail-http-${failMode}`, { failMode, rateLimit: 'unlimited' });
      const edgeguard = createTestApp({ bindings: { API_KEYS: kv, MODELS: models, ...vars } });
      const fetch = (input: Request | string | URL, init?: RequestInit) => edgeguard.request(new URL(String(input)).pathname, init);
      return guardedApp({ failMode, scorer: httpApi({ url: 'https://edgeguard.test', apiKey: key, retries: 0, fetch }) });
    },
    unscored: guardedUnscored,
  },
);

beforeAll(async () => {
  await emptyBucket(bucket);
  await seedModel(bucket, await buildFixtureModel({ version: VERSION }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(SURFACES)('$name', (surface) => {
  /** The fake upstream of the chat route: what a request that passed the guard reaches. */
  const upstream = () => vi.spyOn(globalThis, 'fetch').mockImplementation(async () => Response.json({ id: 'chatcmpl-1', choices: [] }));
  /** The reason the response names, whether it failed closed (an error) or open (unscored). */
  const shows = (reason: string) => (surface.name === 'POST /v1/chat/completions' ? null : reason);

  it('scores with the model, naming it, when one serves', async () => {
    upstream();
    const { send } = await surface.caller('open', bucket);
    const res = await send();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edgeguard-model')).toBe(VERSION);
    expect(res.headers.get('x-edgeguard-unscored')).toBeNull();
  });

  it('answers 503 model_unavailable naming the missing pointer when failing closed and nothing is deployed', async () => {
    const { send } = await surface.caller('closed', EMPTY);
    expect(await errorOf(await send())).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: 'R2 key models/current.json is missing',
    });
  });

  it('lets the request through unscored, marked and with the reason, when failing open and nothing is deployed', async () => {
    upstream();
    const { send } = await surface.caller('open', EMPTY);
    expect(await surface.unscored(await send())).toEqual({
      status: 200,
      header: 'model_unavailable',
      reason: shows('R2 key models/current.json is missing'),
    });
  });

  it('answers 503 model_unavailable naming the missing binding when failing closed without a bucket', async () => {
    const { send } = await surface.caller('closed', undefined);
    expect(await errorOf(await send())).toEqual({ status: 503, code: 'model_unavailable', message: 'no R2 bucket bound as MODELS' });
  });

  it('lets the request through unscored when failing open without a bucket', async () => {
    upstream();
    const { send } = await surface.caller('open', undefined);
    expect(await surface.unscored(await send())).toEqual({
      status: 200,
      header: 'model_unavailable',
      reason: shows('no R2 bucket bound as MODELS'),
    });
  });

  it('answers 503 model_unavailable naming the model and the run error when the model fails while scoring, failing closed', async () => {
    const { send } = await surface.caller('closed', bucket);
    upstream();
    expect((await send()).status).toBe(200);
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new Error('boom'));
    expect(await errorOf(await send())).toEqual({
      status: 503,
      code: 'model_unavailable',
      message: `model ${VERSION} failed while scoring: onnxruntime run failed: boom`,
    });
  });

  it('lets the request through unscored with the run error when the model fails while scoring, failing open, and scores the next one', async () => {
    const { send } = await surface.caller('open', bucket);
    upstream();
    expect((await send()).status).toBe(200);
    vi.spyOn(SESSION, 'run').mockRejectedValueOnce(new Error('boom'));
    expect(await surface.unscored(await send())).toEqual({
      status: 200,
      header: 'model_unavailable',
      reason: shows(`model ${VERSION} failed while scoring: onnxruntime run failed: boom`),
    });
    expect((await send()).headers.get('x-edgeguard-unscored')).toBeNull();
  });

  it('answers 500 internal_error for a misconfigured MODEL_TTL_SECONDS even when failing open', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { send } = await surface.caller('open', bucket, { MODEL_TTL_SECONDS: 'soon' });
    expect(await errorOf(await send())).toMatchObject({
      status: 500,
      code: 'internal_error',
      message: expect.stringMatching(/^worker misconfigured: MODEL_TTL_SECONDS: /),
    });
  });

  it('answers 500 internal_error for a COALESCE_WAIT_MS out of range even when failing open', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { send } = await surface.caller('open', bucket, { COALESCE_WAIT_MS: '500' });
    expect(await errorOf(await send())).toMatchObject({
      status: 500,
      code: 'internal_error',
      message: expect.stringMatching(/^worker misconfigured: COALESCE_WAIT_MS: /),
    });
  });
});
