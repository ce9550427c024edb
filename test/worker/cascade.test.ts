/**
 * The cascade in workerd: the student decides what it is sure about, the teacher judges its
 * uncertain band. The teacher is the project's local OpenAI-compatible server on loopback,
 * playing Llama Guard 3 (started by global-setup.ts; its faults chosen by TEACHER_MODEL, see
 * test/fixtures/llm/llama-guard-teacher.ts), or a fake Workers AI binding (vitest.config.ts).
 * `fetch` is spied on, never replaced, to count what reaches the teacher.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { FEEDBACK_PREFIX, FeedbackRecordSchema, type FeedbackRecord } from '../../src/guard/manifest.ts';
import { createRegistry } from '../../src/guard/registry.ts';
import { inProcess } from '../../src/middleware/scorers/in-process.ts';
import { guard, type GuardVerdict } from '../../src/middleware/guard.ts';
import { llamaGuardRequest } from '../../src/teacher/llama-guard.ts';
import { buildFixtureModel, type FixtureModel } from '../fixtures/fixture-model.ts';
import { SCRIPTED_P_UNSAFE } from '../fixtures/llm/llama-guard-teacher.ts';
import { addKey, bearer, createTestApp, emptyBucket, emptyNamespace, errorOf, expectedScores, scratch, seedModel } from './helpers.ts';

const TEACHER_URL = inject('teacherUrl');
const BAND = '0.2,0.9';
/** In the band; the student passes it (P(harmful) about 0.31), the teacher judges it unsafe (S9). */
const IN_BAND_UNSAFE = 'Tell me about the history of the bomb in the second world war and the people who worked on it';
/** In the band; the student flags it (about 0.83), the teacher judges it safe. */
const IN_BAND_SAFE = 'Where can I buy a bath bomb with lavender?';
/** Outside the band, above it (about 0.98) and below it (about 0.02). */
const SURE_HARMFUL = 'How do I build a pipe bomb?';
const SURE_BENIGN = 'How do I bake bread?';

interface Result {
  score: number;
  flagged: boolean;
  categories: Record<string, { score: number; flagged: boolean }>;
  decidedBy: 'student' | 'teacher';
  teacher?: {
    unsafe?: boolean;
    score?: number;
    categories?: string[];
    codes?: string[];
    latencyMs: number;
    error?: string;
    message?: string;
  };
}

let fixture: FixtureModel;
let fetchSpy: ReturnType<typeof vi.spyOn<typeof globalThis, 'fetch'>>;

/** The worker's app with the teacher configured by `vars` over the defaults of these tests. */
function cascadeApp(vars: Record<string, unknown> = {}) {
  return createTestApp({
    bindings: { MODELS: scratch.CASCADE_TEST, TEACHER_URL, TEACHER_MODEL: 'llama-guard-3', ESCALATE_BAND: BAND, ...vars },
  });
}

async function classify(app: ReturnType<typeof cascadeApp>, prompts: string[], headers: Record<string, string> = {}): Promise<Result[]> {
  const res = await app.post('/v1/classify', { items: prompts.map((prompt) => ({ prompt })) }, headers);
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: Result[] }).results;
}

/** The calls that reached the teacher's server. */
const teacherCalls = () => fetchSpy.mock.calls.filter(([url]) => String(url instanceof Request ? url.url : url).startsWith(TEACHER_URL));

async function feedbackRecords(): Promise<{ key: string; text: string; record: FeedbackRecord }[]> {
  const listed = await scratch.CASCADE_TEST.list({ prefix: FEEDBACK_PREFIX });
  return Promise.all(
    listed.objects.map(async ({ key }) => {
      const text = await (await scratch.CASCADE_TEST.get(key))!.text();
      return { key, text, record: FeedbackRecordSchema.parse(JSON.parse(text)) };
    }),
  );
}

async function deleteFeedback(): Promise<void> {
  const listed = await scratch.CASCADE_TEST.list({ prefix: FEEDBACK_PREFIX });
  await Promise.all(listed.objects.map((o) => scratch.CASCADE_TEST.delete(o.key)));
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (text: string) => hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

beforeAll(async () => {
  await emptyBucket(scratch.CASCADE_TEST);
  fixture = await buildFixtureModel({ version: 'fixture-cascade' });
  await seedModel(scratch.CASCADE_TEST, fixture);
});

beforeEach(() => {
  fetchSpy = vi.spyOn(globalThis, 'fetch');
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the texts these tests use', () => {
  it('fall in the band, or outside it, by the fixture model', () => {
    const p = (text: string) => expectedScores(fixture, text).harmful!;
    expect([p(IN_BAND_UNSAFE), p(IN_BAND_SAFE)].every((s) => s >= 0.2 && s < 0.9)).toBe(true);
    expect(p(IN_BAND_UNSAFE)).toBeLessThan(fixture.manifest.threshold);
    expect(p(IN_BAND_SAFE)).toBeGreaterThanOrEqual(fixture.manifest.threshold);
    expect(p(SURE_HARMFUL)).toBeGreaterThanOrEqual(0.9);
    expect(p(SURE_BENIGN)).toBeLessThan(0.2);
  });
});

describe('the cascade with an OpenAI-compatible Llama Guard server', () => {
  const app = cascadeApp();

  it('lets the teacher decide a text in the band the student passes, and says what it said', async () => {
    const [result] = await classify(app, [IN_BAND_UNSAFE]);
    expect(result).toMatchObject({
      flagged: true,
      decidedBy: 'teacher',
      teacher: { unsafe: true, categories: ['violence', 'illicit', 'illicit/violent'], codes: ['S9'] },
    });
    expect(result!.score).toBeCloseTo(expectedScores(fixture, IN_BAND_UNSAFE).harmful!, 5);
    expect(result!.teacher!.score).toBeCloseTo(SCRIPTED_P_UNSAFE.unsafe, 9);
    expect(result!.teacher!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result!.categories.violence!.flagged).toBe(true);
    expect(result!.categories.illicit!.flagged).toBe(true);
    expect(result!.categories.hate!.flagged).toBe(false);
  });

  it('clears a text in the band the student flags when the teacher judges it safe', async () => {
    const [result] = await classify(app, [IN_BAND_SAFE]);
    expect(result).toMatchObject({ flagged: false, decidedBy: 'teacher', teacher: { unsafe: false, categories: [], codes: [] } });
    expect(result!.teacher!.score).toBeCloseTo(SCRIPTED_P_UNSAFE.safe, 9);
    expect(Object.values(result!.categories).some((c) => c.flagged)).toBe(false);
  });

  it('never asks the teacher about a text outside the band', async () => {
    const results = await classify(app, [SURE_HARMFUL, SURE_BENIGN]);
    expect(results.map((r) => [r.flagged, r.decidedBy, r.teacher])).toEqual([
      [true, 'student', undefined],
      [false, 'student', undefined],
    ]);
    expect(teacherCalls()).toHaveLength(0);
  });

  it('asks only about the texts of a batch that fall in the band', async () => {
    const results = await classify(app, [SURE_HARMFUL, IN_BAND_UNSAFE, SURE_BENIGN, IN_BAND_SAFE]);
    expect(results.map((r) => [r.flagged, r.decidedBy])).toEqual([
      [true, 'student'],
      [true, 'teacher'],
      [false, 'student'],
      [false, 'teacher'],
    ]);
    expect(teacherCalls()).toHaveLength(2);
  });

  it("sends the pipeline label stage's own request: the Llama Guard 3 prompt, greedy, with logprobs", async () => {
    await classify(cascadeApp({ TEACHER_API_KEY: 'teacher-secret' }), [IN_BAND_SAFE]);
    const [[url, init]] = teacherCalls() as [[string, RequestInit]];
    expect(url).toBe(`${TEACHER_URL}/completions`);
    expect(JSON.parse(String(init.body))).toEqual(llamaGuardRequest('llama-guard-3', IN_BAND_SAFE, null));
    expect(JSON.parse(String(init.body))).toMatchObject({ temperature: 0, logprobs: 5, max_tokens: 12 });
    expect(new Headers(init.headers).get('authorization')).toBe('Bearer teacher-secret');
  });

  it('applies the final verdict in /v1/moderations', async () => {
    const res = await app.post('/v1/moderations', { input: [IN_BAND_UNSAFE, IN_BAND_SAFE, SURE_HARMFUL] });
    const { results } = (await res.json()) as { results: { flagged: boolean; categories: Record<string, boolean>; decidedBy: string }[] };
    expect(results.map((r) => [r.flagged, r.decidedBy])).toEqual([
      [true, 'teacher'],
      [false, 'teacher'],
      [true, 'student'],
    ]);
    expect(results[0]!.categories).toMatchObject({ violence: true, illicit: true, 'illicit/violent': true, hate: false });
    expect(results[1]!.categories).toMatchObject({ violence: false, illicit: false });
  });

  it('reports the time spent on the teacher in server-timing, only when it was asked', async () => {
    const asked = await app.post('/v1/classify', { prompt: IN_BAND_SAFE });
    expect(asked.headers.get('server-timing')).toMatch(/(^|,)teacher;dur=\d+(\.\d+)?;desc="1 escalated"/);
    const sure = await app.post('/v1/classify', { prompt: SURE_BENIGN });
    expect(sure.headers.get('server-timing')).not.toMatch(/teacher/);
  });
});

describe('guard() with the cascade', () => {
  function guarded() {
    const seen: GuardVerdict[] = [];
    const hono = new Hono();
    hono.post(
      '/chat',
      guard({ failMode: 'closed', scorer: inProcess({ registry: createRegistry(), bucket: () => scratch.CASCADE_TEST }) }),
      (c) => {
        seen.push(c.var.guard);
        return c.json({ ok: true });
      },
    );
    const bindings = { ...env, TEACHER_URL, TEACHER_MODEL: 'llama-guard-3', ESCALATE_BAND: BAND };
    const send = (content: string) =>
      hono.request(
        '/chat',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content }] }),
        },
        bindings,
      );
    return { send, seen };
  }

  it("blocks on the teacher's unsafe verdict and never runs the handler", async () => {
    const { send, seen } = guarded();
    const error = await errorOf(await send(IN_BAND_UNSAFE));
    expect(error).toMatchObject({ status: 400, code: 'content_blocked' });
    expect(error.message).toMatch(
      /^blocked by EdgeGuard: the teacher judged it unsafe \(S9\); student P\(harmful\) 0\.3\d\d \(model fixture-cascade, at messages\[0\]\.content\)$/,
    );
    expect(seen).toHaveLength(0);
  });

  it("passes a text the student would block when the teacher judges it safe, with the teacher's verdict", async () => {
    const { send, seen } = guarded();
    expect((await send(IN_BAND_SAFE)).status).toBe(200);
    expect(seen[0]).toMatchObject({
      outcome: 'allowed',
      flagged: false,
      decidedBy: 'teacher',
      teacher: { unsafe: false },
      path: 'messages[0].content',
    });
  });
});

describe('per-key escalation', () => {
  const app = createTestApp({
    bindings: {
      MODELS: scratch.CASCADE_TEST,
      API_KEYS: scratch.CASCADE_KEYS_TEST,
      TEACHER_URL,
      TEACHER_MODEL: 'llama-guard-3',
      ESCALATE_BAND: BAND,
    },
  });
  const keys: Record<'band' | 'never' | 'always', string> = { band: '', never: '', always: '' };

  beforeAll(async () => {
    await emptyNamespace(scratch.CASCADE_KEYS_TEST);
    keys.band = await addKey(scratch.CASCADE_KEYS_TEST, 'latency-default');
    keys.never = await addKey(scratch.CASCADE_KEYS_TEST, 'latency-bound', { escalate: 'never' });
    keys.always = await addKey(scratch.CASCADE_KEYS_TEST, 'batch-customer', { escalate: 'always' });
  });

  const send = async (key: string, prompts: string[]) => {
    const res = await app.post('/v1/classify', { items: prompts.map((prompt) => ({ prompt })) }, bearer(key));
    return ((await res.json()) as { results: Result[] }).results;
  };

  it('escalates the band for a key that sets nothing', async () => {
    expect((await send(keys.band, [IN_BAND_SAFE, SURE_HARMFUL])).map((r) => r.decidedBy)).toEqual(['teacher', 'student']);
  });

  it('never asks the teacher for a key with escalate: never, even in the band', async () => {
    const [result] = await send(keys.never, [IN_BAND_SAFE]);
    expect(result).toMatchObject({ flagged: true, decidedBy: 'student' });
    expect(result!.teacher).toBeUndefined();
    expect(teacherCalls()).toHaveLength(0);
  });

  it('asks the teacher about every text for a key with escalate: always', async () => {
    const results = await send(keys.always, [SURE_HARMFUL, SURE_BENIGN]);
    expect(results.map((r) => [r.flagged, r.decidedBy, r.teacher?.unsafe])).toEqual([
      [true, 'teacher', true],
      [false, 'teacher', false],
    ]);
    expect(teacherCalls()).toHaveLength(2);
  });
});

describe('when the teacher fails, the student decides and the result says why', () => {
  it('waits at most TEACHER_TIMEOUT_MS for a teacher that does not answer', async () => {
    const app = cascadeApp({ TEACHER_MODEL: 'llama-guard-slow', TEACHER_TIMEOUT_MS: '300' });
    const started = Date.now();
    const [result] = await classify(app, [IN_BAND_SAFE]);
    expect(Date.now() - started).toBeLessThan(300 + 1_500);
    expect(result).toMatchObject({
      flagged: true,
      decidedBy: 'student',
      teacher: { error: 'timeout', message: 'no answer within 300 ms (TEACHER_TIMEOUT_MS)' },
    });
    expect(result!.teacher!.latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('keeps the student verdict when the teacher answers 503', async () => {
    const [result] = await classify(cascadeApp({ TEACHER_MODEL: 'llama-guard-down' }), [IN_BAND_UNSAFE]);
    expect(result).toMatchObject({
      flagged: false,
      decidedBy: 'student',
      teacher: { error: 'unavailable', message: 'the teacher answered 503 Service Unavailable' },
    });
  });

  it('keeps the student verdict when the teacher answers something that is not JSON', async () => {
    const [result] = await classify(cascadeApp({ TEACHER_MODEL: 'llama-guard-garbled' }), [IN_BAND_SAFE]);
    expect(result).toMatchObject({
      flagged: true,
      decidedBy: 'student',
      teacher: { error: 'malformed', message: 'the teacher answered something that is not JSON' },
    });
  });

  it('keeps the student verdict when the teacher answers without logprobs', async () => {
    const [result] = await classify(cascadeApp({ TEACHER_MODEL: 'llama-guard-no-logprobs' }), [IN_BAND_SAFE]);
    expect(result).toMatchObject({
      decidedBy: 'student',
      teacher: { error: 'malformed', message: expect.stringMatching(/^teacher answer has no logprobs/) },
    });
  });

  it('keeps the student verdict, without asking, once the isolate spent TEACHER_MAX_PER_MINUTE', async () => {
    const app = cascadeApp({ TEACHER_MODEL: 'llama-guard-budget', TEACHER_MAX_PER_MINUTE: '2' });
    const results = await classify(app, [IN_BAND_SAFE, IN_BAND_UNSAFE, IN_BAND_SAFE]);
    expect(results.map((r) => r.decidedBy)).toEqual(['teacher', 'teacher', 'student']);
    expect(results[2]!.teacher).toEqual({
      error: 'budget_spent',
      message: 'the isolate started TEACHER_MAX_PER_MINUTE (2) teacher calls in the last minute',
      latencyMs: 0,
    });
    const [later] = await classify(app, [IN_BAND_UNSAFE]);
    expect(later).toMatchObject({ flagged: false, decidedBy: 'student', teacher: { error: 'budget_spent' } });
    expect(teacherCalls()).toHaveLength(2);
  });
});

describe('the cascade configuration', () => {
  it('changes nothing without a teacher: the student decides every text and nothing is asked', async () => {
    const results = await classify(cascadeApp({ TEACHER_URL: '', TEACHER_MODEL: '' }), [IN_BAND_SAFE, SURE_BENIGN]);
    expect(results.map((r) => [r.flagged, r.decidedBy, r.teacher])).toEqual([
      [true, 'student', undefined],
      [false, 'student', undefined],
    ]);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('answers 500 internal_error naming ESCALATE_BAND when it is not "lo,hi"', async () => {
    const res = await cascadeApp({ ESCALATE_BAND: '0.9,0.2' }).post('/v1/classify', { prompt: SURE_BENIGN });
    expect(await errorOf(res)).toEqual({
      status: 500,
      code: 'internal_error',
      message: `worker misconfigured: ESCALATE_BAND: '0.9,0.2' is not "lo,hi" with 0 <= lo <= hi <= 1`,
    });
  });

  it('answers 500 internal_error for a TEACHER_URL without TEACHER_MODEL', async () => {
    const res = await cascadeApp({ TEACHER_MODEL: '' }).post('/v1/classify', { prompt: SURE_BENIGN });
    expect(await errorOf(res)).toMatchObject({
      status: 500,
      code: 'internal_error',
      message: expect.stringMatching(/^worker misconfigured: TEACHER_MODEL: required with TEACHER_URL/),
    });
  });
});

describe('feedback to R2', () => {
  beforeEach(deleteFeedback);

  it('stores nothing with FEEDBACK_SAMPLE_RATE at its default, 0', async () => {
    const app = cascadeApp();
    await classify(app, [IN_BAND_UNSAFE]);
    await app.settle();
    expect(await feedbackRecords()).toEqual([]);
  });

  it('stores the escalated texts with the student and teacher verdicts, off the response path', async () => {
    const app = cascadeApp({ FEEDBACK_SAMPLE_RATE: '1' });
    await classify(app, [SURE_HARMFUL, IN_BAND_UNSAFE]);
    await app.settle();
    const [stored, ...more] = await feedbackRecords();
    expect(more).toEqual([]);
    const { record, key } = stored!;
    expect(key).toMatch(new RegExp(`^feedback/${record.at.slice(0, 10)}/\\d{8}T\\d{9}Z-[0-9a-f]{8}\\.json$`));
    expect(record).toMatchObject({
      route: '/v1/classify',
      model: { version: 'fixture-cascade', threshold: 0.5 },
      teacher: { kind: 'openai-compatible', model: 'llama-guard-3' },
      band: [0.2, 0.9],
      items: [
        {
          prompt: IN_BAND_UNSAFE,
          response: null,
          promptSha256: await sha256(IN_BAND_UNSAFE),
          responseSha256: null,
          reason: 'band',
          student: { flagged: false },
          teacher: { unsafe: true, codes: ['S9'] },
        },
      ],
    });
    expect(record.items[0]!.student.score).toBeCloseTo(expectedScores(fixture, IN_BAND_UNSAFE).harmful!, 5);
    expect((record.items[0]!.teacher as { score: number }).score).toBeCloseTo(SCRIPTED_P_UNSAFE.unsafe, 9);
    expect(record.traffic.texts).toBeGreaterThanOrEqual(2);
    expect(record.traffic.escalated).toBeGreaterThanOrEqual(1);
    expect(Date.parse(record.at)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps only hashes and scores with FEEDBACK_STORE_TEXT=false: no text reaches R2', async () => {
    const app = cascadeApp({ FEEDBACK_SAMPLE_RATE: '1', FEEDBACK_STORE_TEXT: 'false' });
    await app.post('/v1/classify', {
      items: [{ prompt: IN_BAND_UNSAFE, response: 'It was built at Los Alamos by a large team.' }, { prompt: IN_BAND_SAFE }],
    });
    await app.settle();
    const records = await feedbackRecords();
    const text = records.map((r) => r.text).join('\n');
    for (const secret of [IN_BAND_UNSAFE, IN_BAND_SAFE, 'Los Alamos', 'lavender', 'history of the bomb'])
      expect(text).not.toContain(secret);
    const items = records.flatMap((r) => r.record.items);
    expect(items.length).toBeGreaterThanOrEqual(1);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(['promptSha256', 'reason', 'responseSha256', 'student', 'teacher']);
    }
    expect(items.map((i) => i.promptSha256)).toContain(await sha256(IN_BAND_SAFE));
  });

  it('records a teacher that failed, and not a call the budget stopped', async () => {
    const down = cascadeApp({ TEACHER_MODEL: 'llama-guard-down', FEEDBACK_SAMPLE_RATE: '1' });
    await classify(down, [IN_BAND_SAFE]);
    await down.settle();
    const spent = cascadeApp({ TEACHER_MODEL: 'llama-guard-spent', TEACHER_MAX_PER_MINUTE: '0', FEEDBACK_SAMPLE_RATE: '1' });
    await classify(spent, [IN_BAND_SAFE]);
    await spent.settle();
    const records = await feedbackRecords();
    expect(records.map((r) => r.record.items.map((i) => i.teacher))).toEqual([
      [{ error: 'unavailable', message: 'the teacher answered 503 Service Unavailable', latencyMs: expect.any(Number) }],
    ]);
  });
});

describe('the cascade with Workers AI through the AI binding', () => {
  const aiApp = (model = '@cf/meta/llama-guard-3-8b') =>
    createTestApp({
      bindings: { MODELS: scratch.CASCADE_TEST, AI: scratch.AI_TEST, TEACHER_URL: '', TEACHER_MODEL: model, ESCALATE_BAND: BAND },
    });

  it('lets Workers AI decide the band: a verdict with categories and no score', async () => {
    const results = await classify(aiApp(), [IN_BAND_UNSAFE, IN_BAND_SAFE, SURE_BENIGN]);
    expect(results.map((r) => [r.flagged, r.decidedBy])).toEqual([
      [true, 'teacher'],
      [false, 'teacher'],
      [false, 'student'],
    ]);
    expect(results[0]!.teacher).toEqual({
      unsafe: true,
      categories: ['violence', 'illicit', 'illicit/violent'],
      codes: ['S9'],
      latencyMs: expect.any(Number),
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('keeps the student verdict when the binding throws', async () => {
    const [result] = await classify(aiApp('@cf/meta/llama-guard-9'), [IN_BAND_SAFE]);
    expect(result).toMatchObject({
      flagged: true,
      decidedBy: 'student',
      teacher: { error: 'unavailable', message: expect.stringContaining('No such model @cf/meta/llama-guard-9') },
    });
  });
});
