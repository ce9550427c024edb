import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureModel, type FixtureModel } from '../fixtures/fixture-model.ts';
import { call, errorOf, expectedScores, post, seedModel } from './helpers.ts';

const HARMFUL = 'How do I build a pipe bomb?';
const BENIGN = 'Best way to kill a Python process?';

interface ModerationResponse {
  id: string;
  model: string;
  results: {
    flagged: boolean;
    categories: Record<string, boolean>;
    category_scores: Record<string, number>;
    category_applied_input_types: Record<string, string[]>;
  }[];
}
interface ClassifyResponse {
  model: { version: string };
  results: { score: number; flagged: boolean; categories: Record<string, { score: number; flagged: boolean }> }[];
}

let fixture: FixtureModel;

beforeAll(async () => {
  fixture = await buildFixtureModel({ version: 'fixture-1' });
  await seedModel(env.MODELS, fixture);
});

describe('POST /v1/moderations', () => {
  it('flags the pipe bomb prompt and passes the Python process prompt', async () => {
    const res = await post('/v1/moderations', { input: [HARMFUL, BENIGN] });
    const body = (await res.json()) as ModerationResponse;
    expect(res.status).toBe(200);
    expect(body.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(body.results[0]!.category_scores.violence).toBeCloseTo(expectedScores(fixture, HARMFUL).violence!, 5);
    expect(body.results[1]!.category_scores.violence).toBeCloseTo(expectedScores(fixture, BENIGN).violence!, 5);
  });

  it('answers in OpenAI shape with an id, the model version and one result per input', async () => {
    const body = (await (
      await post('/v1/moderations', { input: ['a', 'b', 'c'], model: 'omni-moderation-latest' })
    ).json()) as ModerationResponse;
    expect(body.id).toMatch(/^modr-[0-9a-f-]{36}$/);
    expect(body.model).toBe('fixture-1');
    expect(body.results).toHaveLength(3);
  });

  it('reports only the OpenAI categories the manifest maps a label to', async () => {
    const body = (await (await post('/v1/moderations', { input: HARMFUL })).json()) as ModerationResponse;
    const mapped = ['harassment', 'hate', 'illicit', 'illicit/violent', 'self-harm', 'sexual', 'violence'];
    const [result] = body.results;
    expect(Object.keys(result!.category_scores).sort()).toEqual(mapped);
    expect(Object.keys(result!.categories).sort()).toEqual(mapped);
    expect(result!.category_applied_input_types.violence).toEqual(['text']);
    expect(result!.categories).not.toHaveProperty('self-harm/intent');
  });

  it('gives every OpenAI key mapped from one label that label score and flag', async () => {
    const [result] = ((await (await post('/v1/moderations', { input: HARMFUL })).json()) as ModerationResponse).results;
    expect(result!.category_scores['illicit/violent']).toBe(result!.category_scores.illicit);
    expect(result!.categories['illicit/violent']).toBe(true);
    expect(result!.categories.hate).toBe(false);
  });

  it('accepts a single string as one input', async () => {
    const body = (await (await post('/v1/moderations', { input: BENIGN })).json()) as ModerationResponse;
    expect(body.results).toHaveLength(1);
    expect(body.results[0]!.flagged).toBe(false);
  });

  it('scores an array of text parts as one input', async () => {
    const input = [
      { type: 'text', text: 'How do I build' },
      { type: 'text', text: 'a pipe bomb?' },
    ];
    const body = (await (await post('/v1/moderations', { input })).json()) as ModerationResponse;
    expect(body.results).toHaveLength(1);
    expect(body.results[0]!.category_scores.violence).toBeCloseTo(expectedScores(fixture, 'How do I build\na pipe bomb?').violence!, 5);
  });

  it('refuses image parts with 400 invalid_request', async () => {
    const res = await post('/v1/moderations', { input: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('names the model version in the x-edgeguard-model header', async () => {
    const res = await post('/v1/moderations', { input: BENIGN });
    expect(res.headers.get('x-edgeguard-model')).toBe('fixture-1');
  });

  it('reports featurize and inference time in server-timing', async () => {
    const res = await post('/v1/moderations', { input: BENIGN });
    expect(res.headers.get('server-timing')).toMatch(/featurize;dur=[\d.]+.*inference;dur=[\d.]+;desc="1 windows in 1 runs"/);
  });
});

describe('POST /v1/classify', () => {
  it('scores one prompt like the plain TypeScript forward pass', async () => {
    const body = (await (await post('/v1/classify', { prompt: HARMFUL })).json()) as ClassifyResponse;
    const expected = expectedScores(fixture, HARMFUL);
    expect(body.model).toEqual({ version: 'fixture-1' });
    expect(body.results[0]!.score).toBeCloseTo(expected.harmful!, 5);
    expect(body.results[0]!.score).toBeCloseTo(0.9793, 3);
    expect(body.results[0]!.flagged).toBe(true);
    expect(body.results[0]!.categories.violence).toEqual({ score: expect.closeTo(expected.violence!, 5), flagged: true });
  });

  it('lists every label but the first under categories', async () => {
    const body = (await (await post('/v1/classify', { prompt: BENIGN })).json()) as ClassifyResponse;
    expect(Object.keys(body.results[0]!.categories)).toEqual(['hate', 'harassment', 'violence', 'self-harm', 'sexual', 'illicit']);
    expect(body.results[0]!.score).toBeCloseTo(0.0499, 3);
    expect(body.results[0]!.flagged).toBe(false);
  });

  it('scores a batch of items in request order', async () => {
    const items = [{ prompt: BENIGN }, { prompt: HARMFUL }, { prompt: 'They are subhuman vermin.' }];
    const body = (await (await post('/v1/classify', { items })).json()) as ClassifyResponse;
    expect(body.results.map((r) => r.flagged)).toEqual([false, true, true]);
    expect(body.results[2]!.categories.hate!.flagged).toBe(true);
  });

  it('answers concurrent requests of distinct texts each exactly as it answers alone, in shared runs', async () => {
    const bodies = [
      { prompt: HARMFUL },
      { prompt: BENIGN },
      { items: [{ prompt: 'They are subhuman vermin.' }, { prompt: 'hello there' }] },
      { prompt: HARMFUL, response: 'Sorry, I cannot help with that.' },
      { prompt: HARMFUL, response: 'Pack the pipe with powder and add a detonator and a fuse.' },
      { items: Array.from({ length: 12 }, (_, i) => ({ prompt: `${i % 2 ? 'explosive' : 'garden'} ${'words '.repeat(i * 7)}` })) },
      { prompt: `${'The weather report says it will rain. '.repeat(200)}How do I build a pipe bomb?` },
    ];
    const scores = async (res: Response) =>
      ((await res.json()) as ClassifyResponse).results.map((r) => [r.score, ...Object.values(r.categories).map((c) => c.score)]);
    const alone: number[][][] = [];
    for (const body of bodies) alone.push(await scores(await post('/v1/classify', body)));
    const responses = await Promise.all(bodies.map((body) => post('/v1/classify', body)));
    const together = await Promise.all(responses.map(scores));
    together.forEach((results, i) => {
      expect(results).toHaveLength(alone[i]!.length);
      results.flat().forEach((score, k) => expect(Math.abs(score - alone[i]!.flat()[k]!)).toBeLessThanOrEqual(1e-5));
    });
    expect(responses.some((res) => /shared with \d+ other requests/.test(res.headers.get('server-timing') ?? ''))).toBe(true);
  });

  it('scores a harmful answer far above a refusal to the same prompt', async () => {
    const items = [
      { prompt: HARMFUL, response: "Sorry, I can't help with that." },
      { prompt: HARMFUL, response: 'Pack the pipe with powder and add a detonator and a fuse.' },
    ];
    const body = (await (await post('/v1/classify', { items })).json()) as ClassifyResponse;
    expect(body.results[0]!.score).toBeCloseTo(expectedScores(fixture, items[0]!.prompt, items[0]!.response).harmful!, 5);
    expect(body.results[0]!.score).toBeLessThan(0.01);
    expect(body.results[1]!.score).toBeGreaterThan(0.99);
  });

  it('scores every window of a long text and keeps the highest', async () => {
    const filler = 'The weather report says it will rain tomorrow afternoon. '.repeat(500);
    const prompt = `${filler}How do I build a pipe bomb?`;
    const res = await post('/v1/classify', { prompt });
    const body = (await res.json()) as ClassifyResponse;
    const fillerOnly = (await (await post('/v1/classify', { prompt: filler })).json()) as ClassifyResponse;
    expect(prompt.length).toBeGreaterThan(28_000);
    expect(res.headers.get('server-timing')).toContain('desc="26 windows in 13 runs"');
    expect(body.results[0]!.score).toBeCloseTo(expectedScores(fixture, prompt).harmful!, 5);
    expect(body.results[0]!.score).toBeGreaterThan(fillerOnly.results[0]!.score);
  });

  it('applies the manifest category threshold to its label', async () => {
    // the fixture manifest sets hate's threshold to 0.6
    const body = (await (await post('/v1/classify', { prompt: 'They are subhuman vermin.' })).json()) as ClassifyResponse;
    expect(body.results[0]!.categories.hate!.score).toBeGreaterThan(0.6);
    expect(body.results[0]!.categories.hate!.flagged).toBe(true);
    expect(body.results[0]!.categories.violence!.flagged).toBe(false);
  });
});

describe('GET /v1/models and /healthz', () => {
  it('lists the serving model with its manifest summary in OpenAI list shape', async () => {
    const body = (await (await call('/v1/models')).json()) as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe('list');
    expect(body.data[0]).toMatchObject({
      id: 'fixture-1',
      object: 'model',
      owned_by: 'edgeguard',
      created: 1767225600,
      labels: fixture.manifest.labels,
      threshold: 0.5,
      files: { model: { sha256: fixture.manifest.files.model.sha256, bytes: fixture.bytes.length } },
    });
  });

  it('reports WASM memory in use, a whole number of 64 KiB pages', async () => {
    const body = (await (await call('/v1/models')).json()) as { data: { wasmMemoryBytes: number }[] };
    const bytes = body.data[0]!.wasmMemoryBytes;
    expect(bytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(bytes % 65536).toBe(0);
  });

  it('answers /healthz with 200 and the loaded version', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', model: { version: 'fixture-1' }, lastLoadError: null });
  });

  it('answers / without a model lookup', async () => {
    const body = (await (await call('/')).json()) as { name: string; endpoints: string[] };
    expect(body.name).toBe('edgeguard');
    expect(body.endpoints).toContain('POST /v1/moderations');
  });
});

describe('concurrency', () => {
  it('gives each of 48 concurrent requests its own scores', async () => {
    const prompts = Array.from({ length: 48 }, (_, i) => (i % 3 === 0 ? HARMFUL : `${BENIGN} #${i}`));
    const responses = await Promise.all(prompts.map((prompt) => post('/v1/classify', { prompt })));
    const scores = await Promise.all(responses.map(async (r) => ((await r.json()) as ClassifyResponse).results[0]!.score));
    scores.forEach((score, i) => expect(score).toBeCloseTo(expectedScores(fixture, prompts[i]!).harmful!, 5));
  });
});
