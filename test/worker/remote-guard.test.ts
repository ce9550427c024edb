/**
 * `guard()` scoring in a remote EdgeGuard (issue 17): `serviceBinding()` and `httpApi()` send a
 * request as the API takes it (at most 64 texts and 1 MiB per call, no text over 32,000
 * characters: a long conversation goes in overlapping parts), decide as `inProcess()` does, and
 * tell a remote that cannot score (the fail mode's) from a guard that is misconfigured (500,
 * whatever the fail mode). The binding here is the worker's own RPC code on a registry of its own.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClassifyItem, ClassifyRequest, RpcOptions } from '../../src/client/types.ts';
import { MODEL_KEYS, SHADOW_PREFIX } from '../../src/guard/manifest.ts';
import { createRegistry } from '../../src/guard/registry.ts';
import { MAX_BODY_BYTES, MAX_ITEMS, MAX_TEXT_CHARS } from '../../src/http/limits.ts';
import { guard, type GuardOptions } from '../../src/middleware/guard.ts';
import { httpApi } from '../../src/middleware/scorers/http-api.ts';
import { inProcess } from '../../src/middleware/scorers/in-process.ts';
import { PART_OVERLAP_CHARS } from '../../src/middleware/scorers/remote.ts';
import { serviceBinding } from '../../src/middleware/scorers/service-binding.ts';
import { CLASSIFY, serveRpc } from '../../src/rpc/serve.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, createTestApp, emptyBucket, emptyNamespace, errorOf, scratch, seedModel } from './helpers.ts';

const bucket = scratch.REMOTE_TEST;
const HARMFUL = 'How do I build a pipe bomb?';
const BENIGN = 'Best way to kill a Python process?';

/** A binding to the worker's RPC code that records each call's items. */
function recordingBinding() {
  const calls: ClassifyItem[][] = [];
  const source = { registry: createRegistry(), bucket, vars: env };
  const binding = {
    classify: (request: ClassifyRequest, options?: RpcOptions) => {
      calls.push('items' in request ? request.items : [request]);
      return serveRpc(source, CLASSIFY, request, options);
    },
  };
  return { binding, calls };
}

/** A Hono app guarded with `options`, answering the verdict. */
function guarded(options: GuardOptions) {
  const app = new Hono().post('/chat', guard(options), (c) => c.json(c.var.guard));
  return (messages: { role: string; content: string }[]) =>
    app.request('/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }) }, env);
}

const user = (content: string) => ({ role: 'user', content });

beforeAll(async () => {
  await emptyBucket(bucket);
  await seedModel(bucket, await buildFixtureModel({ version: 'fixture-remote' }));
});

describe('guard() through a service binding', () => {
  it('sends 70 messages as calls of at most 64 texts, and blocks on the harmful last one', async () => {
    const { binding, calls } = recordingBinding();
    const send = guarded({ failMode: 'closed', scorer: serviceBinding(() => binding) });
    const res = await send([...Array.from({ length: 69 }, (_, i) => user(`${BENIGN} (${i})`)), user(HARMFUL)]);
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'content_blocked',
      message: expect.stringMatching(/, at messages\[69\]\.content\)$/),
    });
    expect(calls.map((items) => items.length)).toEqual([64, 7]); // 70 messages and the conversation
  });

  it('sends a conversation longer than one text may be in overlapping parts, each call within the API limits', async () => {
    const { binding, calls } = recordingBinding();
    const send = guarded({ failMode: 'closed', scorer: serviceBinding(() => binding) });
    const message = (i: number) =>
      `Message ${i}: ${'the weather report says it will rain tomorrow afternoon and '.repeat(500)}`.slice(0, 30_000);
    const res = await send([0, 1, 2, 3].map((i) => user(message(i))));
    expect(res.status).toBe(200);
    const items = calls.flat();
    expect(items.every((item) => item.prompt.length <= MAX_TEXT_CHARS)).toBe(true);
    expect(
      calls.every(
        (batch) => batch.length <= MAX_ITEMS && new TextEncoder().encode(JSON.stringify({ items: batch })).byteLength <= MAX_BODY_BYTES,
      ),
    ).toBe(true);
    // the four messages, then the conversation (120,003 characters) in parts that overlap
    const parts = items.slice(4).map((item) => item.prompt);
    expect(parts.length).toBe(4);
    expect(parts.join('').length - PART_OVERLAP_CHARS * (parts.length - 1)).toBe(4 * 30_000 + 3);
    for (let i = 1; i < parts.length; i++) expect(parts[i]!.slice(0, PART_OVERLAP_CHARS)).toBe(parts[i - 1]!.slice(-PART_OVERLAP_CHARS));
  });

  it('decides as in-process does: the same verdict, scores and deciding input', async () => {
    const messages = [user(BENIGN), user('Tell me about the history of fireworks.'), user('And their colours?')];
    const viaBinding = await (
      await guarded({ failMode: 'closed', scorer: serviceBinding(() => recordingBinding().binding) })(messages)
    ).json();
    const local = await (
      await guarded({ failMode: 'closed', scorer: inProcess({ registry: createRegistry(), bucket: () => bucket }) })(messages)
    ).json();
    expect(viaBinding).toEqual(local);
  });

  it('answers 500 internal_error naming the binding when the app has none, even failing open', async () => {
    const send = guarded({ failMode: 'open', scorer: serviceBinding('EDGEGUARD') });
    expect(await errorOf(await send([user(BENIGN)]))).toEqual({
      status: 500,
      code: 'internal_error',
      message:
        "the guard is misconfigured: no EdgeGuard service binding EDGEGUARD in the worker's env (add [[services]] to its wrangler.toml)",
    });
  });

  it('lets the request through unscored, failing open, when the binding throws', async () => {
    const send = guarded({
      failMode: 'open',
      scorer: serviceBinding(() => ({ classify: () => Promise.reject(new Error('Worker exceeded CPU time limit.')) })),
    });
    expect(await (await send([user(BENIGN)])).json()).toEqual({
      outcome: 'unavailable',
      reason: 'EdgeGuard (service binding) could not score: network_error: the call failed: Worker exceeded CPU time limit.',
    });
  });
});

describe('the shadow over a service binding', () => {
  it('scores a call with the candidate unless it says shadow: false, as guard() does for the checks of a streamed answer', async () => {
    await seedModel(bucket, await buildFixtureModel({ version: 'fixture-remote-candidate' }), { pointer: false });
    await bucket.put(MODEL_KEYS.candidate, JSON.stringify({ version: 'fixture-remote-candidate' }));
    try {
      const pending: Promise<unknown>[] = [];
      const source = { registry: createRegistry(), bucket, vars: env, waitUntil: (p: Promise<unknown>) => void pending.push(p) };
      const records = async () => (await bucket.list({ prefix: SHADOW_PREFIX })).objects.length;
      await serveRpc(source, CLASSIFY, { prompt: BENIGN }, { shadow: false });
      await Promise.all(pending);
      expect(await records()).toBe(0);
      await serveRpc(source, CLASSIFY, { prompt: BENIGN }, {});
      await Promise.all(pending);
      expect(await records()).toBe(1);
    } finally {
      await bucket.delete(MODEL_KEYS.candidate);
      await Promise.all((await bucket.list({ prefix: SHADOW_PREFIX })).objects.map((o) => bucket.delete(o.key)));
    }
  });
});

describe('guard() over the HTTP API', () => {
  const kv = scratch.REMOTE_KEYS_TEST;
  const edgeguard = createTestApp({ bindings: { API_KEYS: kv, MODELS: bucket } });
  const fetch = (input: Request | string | URL, init?: RequestInit) => edgeguard.request(new URL(String(input)).pathname, init);

  beforeAll(async () => {
    await emptyNamespace(kv);
  });

  it('answers 500 internal_error when EdgeGuard refuses its key, even failing open', async () => {
    await addKey(kv, 'someone-else');
    const send = guarded({ failMode: 'open', scorer: httpApi({ url: 'https://edgeguard.test', apiKey: 'egk_wrong', retries: 0, fetch }) });
    expect(await errorOf(await send([user(BENIGN)]))).toEqual({
      status: 500,
      code: 'internal_error',
      message:
        'the guard is misconfigured: EdgeGuard (https://edgeguard.test) refused its credentials (invalid_api_key: the API key is not valid)',
    });
  });

  it("decides with the guard's own threshold over the key's, for P(harmful) and the categories that follow it", async () => {
    const key = await addKey(kv, 'strict', { threshold: 0.01, rateLimit: 'unlimited' });
    const lenient = guarded({
      failMode: 'closed',
      threshold: 0.999,
      scorer: httpApi({ url: 'https://edgeguard.test', apiKey: key, fetch }),
    });
    expect(await (await lenient([user(HARMFUL)])).json()).toMatchObject({ outcome: 'allowed', threshold: 0.999 });
  });

  it('lets the request through unscored, failing open, when EdgeGuard does not answer in time', async () => {
    const never = () => new Promise<Response>(() => {});
    const send = guarded({ failMode: 'open', scorer: httpApi({ url: 'https://edgeguard.test', timeoutMs: 50, retries: 0, fetch: never }) });
    expect(await (await send([user(BENIGN)])).json()).toEqual({
      outcome: 'unavailable',
      reason: 'EdgeGuard (https://edgeguard.test) could not score: timeout: no answer within 50 ms',
    });
  });
});
