/**
 * Per-key policy: the key's thresholds decide on the model's raw scores, its fail mode decides
 * what a caller gets when no model can score, and every response reports the policy it applied.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildFixtureModel, type FixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, bearer, createTestApp, errorOf, expectedScores, scratch, seedModel } from './helpers.ts';

const kv = scratch.POLICY_KEYS_TEST;
const HARMFUL = 'How do I build a pipe bomb?'; // P(harmful) 0.979
const BENIGN = 'Best way to kill a Python process?';

interface Classified {
  model: { version: string } | null;
  results: { score: number | null; flagged: boolean; categories: Record<string, { score: number; flagged: boolean }> }[];
  policy: { threshold: number | null; categoryThresholds: Record<string, number>; failMode: string; source: string };
  unavailable?: { code: string; message: string };
}

let fixture: FixtureModel;
/** An empty bucket: no model can be served from it. */
const EMPTY = { get: async () => null, list: async () => ({ objects: [] }) } as unknown as R2Bucket;

beforeAll(async () => {
  fixture = await buildFixtureModel({ version: 'policy-1' });
  await seedModel(env.MODELS, fixture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const app = (bindings: Record<string, unknown> = {}) => createTestApp({ bindings: { API_KEYS: kv, ...bindings } });

describe('thresholds', () => {
  it('reports the model policy for a key that sets none', async () => {
    const key = await addKey(kv, 'plain');
    const body = (await (await app().post('/v1/classify', { prompt: BENIGN }, bearer(key))).json()) as Classified;
    expect(body.policy).toEqual({
      threshold: 0.5,
      categoryThresholds: { hate: 0.6, harassment: 0.5, violence: 0.5, 'self-harm': 0.5, sexual: 0.5, illicit: 0.5 },
      failMode: 'closed',
      source: 'model',
    });
  });

  it('flags with the key threshold while the score stays raw', async () => {
    const key = await addKey(kv, 'lenient', { threshold: 0.99 });
    const body = (await (await app().post('/v1/classify', { prompt: HARMFUL }, bearer(key))).json()) as Classified;
    expect(body.results[0]!.score).toBeCloseTo(expectedScores(fixture, HARMFUL).harmful!, 5);
    expect(body.results[0]!.flagged).toBe(false);
    expect(body.policy).toMatchObject({ threshold: 0.99, source: 'key' });
  });

  it('flags a low score under a strict key', async () => {
    const key = await addKey(kv, 'strict', { threshold: 0.01 });
    const body = (await (await app().post('/v1/classify', { prompt: BENIGN }, bearer(key))).json()) as Classified;
    expect(body.results[0]!.score).toBeCloseTo(0.0499, 3);
    expect(body.results[0]!.flagged).toBe(true);
  });

  it('applies a key category threshold to its label only, and a flagged category flags the text', async () => {
    const key = await addKey(kv, 'hate-strict', { categoryThresholds: { hate: 0.01 } });
    const body = (await (await app().post('/v1/classify', { prompt: BENIGN }, bearer(key))).json()) as Classified;
    const expected = expectedScores(fixture, BENIGN);
    expect(expected.hate).toBeCloseTo(0.03, 2);
    expect(body.results[0]!.categories.hate).toEqual({ score: expect.closeTo(expected.hate!, 5), flagged: true });
    expect(body.results[0]!.categories.harassment).toEqual({ score: expect.closeTo(expected.harassment!, 5), flagged: false });
    // P(harmful) stays under 0.5, but a category the model reports is flagged: so is the text
    expect(body.results[0]!.score).toBeLessThan(0.5);
    expect(body.results[0]!.flagged).toBe(true);
    expect(body.policy).toMatchObject({ threshold: 0.5, categoryThresholds: { hate: 0.01, harassment: 0.5 }, source: 'key' });
  });

  it('flags a moderation result exactly when its score or a category is flagged, and returns the score', async () => {
    const key = await addKey(kv, 'hate-strict-mod', { categoryThresholds: { hate: 0.01 } });
    const res = await app().post('/v1/moderations', { input: [BENIGN, HARMFUL, 'a calm sentence'] }, bearer(key));
    const body = (await res.json()) as { results: { flagged: boolean; score: number; categories: Record<string, boolean> }[] };
    for (const result of body.results) {
      expect(result.flagged).toBe(result.score >= 0.5 || Object.values(result.categories).some(Boolean));
    }
    // the benign text: P(harmful) 0.03, but the key makes "hate" flag at 0.01, so it is flagged
    expect(body.results[0]).toMatchObject({ flagged: true, categories: { hate: true, violence: false } });
    expect(body.results[0]!.score).toBeCloseTo(expectedScores(fixture, BENIGN).harmful!, 5);
  });

  it('names each category of a text flagged on P(harmful) from 0.5, though under its own threshold', async () => {
    const strict = Object.fromEntries(['hate', 'harassment', 'violence', 'self-harm', 'sexual', 'illicit'].map((label) => [label, 0.999]));
    const key = await addKey(kv, 'categories-strict', { categoryThresholds: strict });
    const body = (await (
      await app().post('/v1/classify', { items: [{ prompt: HARMFUL }, { prompt: BENIGN }] }, bearer(key))
    ).json()) as Classified;
    const [harmful, benign] = body.results;
    const expected = expectedScores(fixture, HARMFUL);
    expect(harmful!.flagged).toBe(true);
    for (const [label, category] of Object.entries(harmful!.categories)) expect(category.flagged).toBe(expected[label]! >= 0.5);
    expect(Object.values(harmful!.categories).filter((c) => c.flagged).length).toBeGreaterThan(0);
    // not flagged overall: no category is named below its own threshold
    expect(benign!.flagged).toBe(false);
    expect(Object.values(benign!.categories).some((c) => c.flagged)).toBe(false);
  });

  it('lets the key threshold stand for labels neither the key nor the model sets', async () => {
    const key = await addKey(kv, 'overall', { threshold: 0.9 });
    const body = (await (await app().post('/v1/classify', { prompt: BENIGN }, bearer(key))).json()) as Classified;
    expect(body.policy.categoryThresholds).toMatchObject({ hate: 0.6, violence: 0.9 });
  });

  it('ignores key thresholds for labels the model does not have', async () => {
    const key = await addKey(kv, 'spam', { categoryThresholds: { spam: 0.1 } });
    const body = (await (await app().post('/v1/classify', { prompt: BENIGN }, bearer(key))).json()) as Classified;
    expect(body.policy.categoryThresholds).not.toHaveProperty('spam');
    expect(body.policy.source).toBe('model');
  });

  it('applies the key thresholds to /v1/moderations and reports them', async () => {
    const key = await addKey(kv, 'mod-lenient', { threshold: 0.99, categoryThresholds: { violence: 0.99, illicit: 0.99 } });
    const res = await app().post('/v1/moderations', { input: HARMFUL }, bearer(key));
    const body = (await res.json()) as {
      results: { flagged: boolean; categories: Record<string, boolean>; category_scores: Record<string, number> }[];
      policy: Classified['policy'];
    };
    expect(body.results[0]!.flagged).toBe(false);
    expect(body.results[0]!.categories.violence).toBe(false);
    expect(body.results[0]!.category_scores.violence).toBeGreaterThan(0.9);
    expect(body.policy).toMatchObject({ threshold: 0.99, source: 'key' });
  });

  it('uses the key threshold in the guarded chat route', async () => {
    const key = await addKey(kv, 'chat-lenient', { threshold: 0.99 });
    const res = await app().post('/v1/chat/completions', { messages: [{ role: 'user', content: HARMFUL }] }, bearer(key));
    // passed the guard, then found no upstream
    expect(await errorOf(res)).toMatchObject({ status: 501, code: 'upstream_not_configured' });
  });
});

describe('fail modes when no model can score', () => {
  it('answers 503 model_unavailable for a key that fails closed (the default)', async () => {
    const key = await addKey(kv, 'closed');
    const res = await app({ MODELS: EMPTY }).post('/v1/classify', { prompt: HARMFUL }, bearer(key));
    expect(await errorOf(res)).toEqual({ status: 503, code: 'model_unavailable', message: 'R2 key models/current.json is missing' });
  });

  it('answers 200 with unscored, unflagged results and the reason for a key that fails open', async () => {
    const key = await addKey(kv, 'open', { failMode: 'open', threshold: 0.7 });
    const res = await app({ MODELS: EMPTY }).post('/v1/classify', { items: [{ prompt: HARMFUL }, { prompt: BENIGN }] }, bearer(key));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edgeguard-unscored')).toBe('model_unavailable');
    expect(await res.json()).toEqual({
      model: null,
      results: [
        { score: null, flagged: false, categories: {} },
        { score: null, flagged: false, categories: {} },
      ],
      policy: { threshold: 0.7, categoryThresholds: {}, failMode: 'open', source: 'key' },
      unavailable: { code: 'model_unavailable', message: 'R2 key models/current.json is missing' },
    });
  });

  it('fails open on /v1/moderations in OpenAI shape', async () => {
    const key = await addKey(kv, 'open-mod', { failMode: 'open' });
    const res = await app({ MODELS: EMPTY }).post('/v1/moderations', { input: ['a', 'b'] }, bearer(key));
    const body = (await res.json()) as { model: null; results: unknown[]; unavailable: { code: string } };
    expect(res.status).toBe(200);
    expect(body.model).toBeNull();
    expect(body.results).toEqual(
      Array(2).fill({ flagged: false, categories: {}, category_scores: {}, category_applied_input_types: {}, score: null }),
    );
    expect(body.unavailable.code).toBe('model_unavailable');
  });

  it('lets the guarded chat route through for a key that fails open', async () => {
    const key = await addKey(kv, 'open-chat', { failMode: 'open' });
    const res = await app({ MODELS: EMPTY }).post('/v1/chat/completions', { messages: [{ role: 'user', content: HARMFUL }] }, bearer(key));
    expect(await errorOf(res)).toMatchObject({
      status: 501,
      code: 'upstream_not_configured',
      message: expect.stringMatching(/\(unavailable\)/),
    });
  });

  it('still refuses bad input with 4xx for a key that fails open', async () => {
    const key = await addKey(kv, 'open-bad', { failMode: 'open' });
    expect((await app({ MODELS: EMPTY }).post('/v1/classify', { prompt: '' }, bearer(key))).status).toBe(400);
  });

  it('still answers 404 for a pinned version that is not deployed, for a key that fails open', async () => {
    const key = await addKey(kv, 'open-pin', { failMode: 'open' });
    const res = await app().post('/v1/classify', { prompt: 'hi', model: 'ghost' }, bearer(key));
    expect(await errorOf(res)).toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('the chat route upstream', () => {
  it('never forwards the EdgeGuard key upstream, sending UPSTREAM_API_KEY instead', async () => {
    const key = await addKey(kv, 'chat');
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(Response.json({ id: 'chatcmpl-1' }));
    const res = await app({ UPSTREAM_URL: 'https://upstream.test/v1', UPSTREAM_API_KEY: 'sk-upstream' }).post(
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: BENIGN }] },
      bearer(key),
    );
    expect(res.status).toBe(200);
    const headers = new Headers(fetch.mock.calls[0]![1]!.headers);
    expect(headers.get('authorization')).toBe('Bearer sk-upstream');
  });

  it('sends no Authorization upstream when keys are configured and UPSTREAM_API_KEY is not set', async () => {
    const key = await addKey(kv, 'chat2');
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(Response.json({ id: 'chatcmpl-1' }));
    await app({ UPSTREAM_URL: 'https://upstream.test/v1' }).post(
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: BENIGN }] },
      bearer(key),
    );
    expect(new Headers(fetch.mock.calls[0]![1]!.headers).has('authorization')).toBe(false);
  });
});
