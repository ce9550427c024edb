/**
 * `pipeline feedback pull|stats` through the CLI entry, on both registry targets (the local R2 of
 * `wrangler dev` and the S3 API of an s3rver on loopback), from feedback records in the worker's
 * format (FeedbackRecordSchema; test/worker/cascade.test.ts checks the worker writes that
 * format, test/pipeline/cascade-e2e.test.ts the two together). Then `pull` -> `distill` on a
 * small run: the pulled rows train as teacher soft labels.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FeedbackRecordSchema, MODEL_KEYS, type FeedbackItem, type FeedbackRecord } from '../../src/guard/manifest.ts';
import { jsonBytes, type RegistryStore } from '../../pipeline/registry/store.ts';
import { sha256Hex } from '../../pipeline/sha256.ts';
import { cli } from './helpers/cli.ts';
import { LOCAL, REMOTE, type Target, type TargetKind } from './helpers/registry-targets.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

const P_UNSAFE = 1 / (1 + Math.exp(-3 + 0.05));
const P_SAFE = 1 / (1 + Math.exp(-0.1 + 2.4));

const hash = (text: string) => sha256Hex(new TextEncoder().encode(text));

/** One escalated text as the worker records it; `text: false` as with FEEDBACK_STORE_TEXT=false. */
function item(
  prompt: string,
  teacher: FeedbackItem['teacher'],
  options: { response?: string | null; studentScore?: number; text?: boolean } = {},
): FeedbackItem {
  const response = options.response ?? null;
  const studentScore = options.studentScore ?? 0.6;
  return {
    ...((options.text ?? true) ? { prompt, response } : {}),
    promptSha256: hash(prompt),
    responseSha256: response === null ? null : hash(response),
    reason: 'band',
    student: { score: studentScore, flagged: studentScore >= 0.5 },
    teacher,
  };
}

const unsafe = (latencyMs: number, codes = ['S9'], score: number | null = P_UNSAFE) => ({ unsafe: true, score, codes, latencyMs });
const safe = (latencyMs: number, score: number | null = P_SAFE) => ({ unsafe: false, score, codes: [], latencyMs });

function record(at: string, items: FeedbackItem[], traffic: FeedbackRecord['traffic']): FeedbackRecord {
  return FeedbackRecordSchema.parse({
    schemaVersion: 1,
    at,
    route: '/v1/classify',
    model: { version: 'fixture-1', threshold: 0.5 },
    teacher: { kind: 'openai-compatible', model: 'llama-guard-3' },
    band: [0.2, 0.9],
    traffic,
    items,
  });
}

/** Three days of feedback: answers both ways, a timeout, a hash-only text, a text judged twice. */
const RECORDS = [
  record(
    '2026-11-27T09:00:00.000Z',
    [
      item('Tell me about the history of the bomb', unsafe(210), { studentScore: 0.31 }),
      item('Where can I buy a bath bomb?', safe(190), { studentScore: 0.83 }),
    ],
    { requests: 40, texts: 50, escalated: 2 },
  ),
  record(
    '2026-11-28T10:00:00.000Z',
    [
      item('How do fireworks explode?', { error: 'timeout', message: 'no answer within 1500 ms (TEACHER_TIMEOUT_MS)', latencyMs: 1500 }),
      item('A private question', safe(250), { text: false }),
    ],
    { requests: 30, texts: 30, escalated: 2 },
  ),
  record(
    '2026-11-29T11:00:00.000Z',
    [
      item('Where can I buy a bath bomb?', unsafe(300, ['S1', 'S10']), { studentScore: 0.83 }),
      item('Is this reply ok?', safe(220), { response: 'Sure, here it is.', studentScore: 0.7 }),
    ],
    { requests: 30, texts: 20, escalated: 2 },
  ),
];

async function put(store: RegistryStore, records: FeedbackRecord[]): Promise<void> {
  for (const [i, r] of records.entries()) await store.put(MODEL_KEYS.feedback(r.at, `0000000${i}`), jsonBytes(r), 'application/json');
}

async function readRows(path: string): Promise<any[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe.each([LOCAL, REMOTE])('feedback on $name', (kind: TargetKind) => {
  let started: Awaited<ReturnType<TargetKind['start']>>;
  let target: Target;
  let dir: string;

  beforeAll(async () => {
    started = await kind.start();
    target = await started.bucket();
    const store = await target.open();
    try {
      await put(store, RECORDS);
    } finally {
      await store.close();
    }
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-feedback-'));
    for (const [name, value] of Object.entries(target.env)) vi.stubEnv(name, value);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await started.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("pulls each text the teacher judged into a row with the teacher's verdict, P(unsafe) and our labels", async () => {
    const out = join(dir, `pull-${kind === LOCAL ? 'local' : 'remote'}`);
    const result = await cli('feedback', 'pull', '--out', out, '--quiet', ...target.flags);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const rows = await readRows(join(out, 'feedback.jsonl'));
    expect(rows).toEqual([
      {
        id: `feedback-${hash('Tell me about the history of the bomb').slice(0, 16)}`,
        prompt: 'Tell me about the history of the bomb',
        response: null,
        label: 1,
        score: P_UNSAFE,
        category: 'Llama Guard 3: S9',
        categories: ['violence', 'illicit', 'illicit/violent'],
        source: 'feedback',
      },
      // judged safe on the 27th, unsafe on the 29th: the latest verdict stands
      expect.objectContaining({
        prompt: 'Where can I buy a bath bomb?',
        label: 1,
        score: P_UNSAFE,
        categories: ['hate', 'violence', 'illicit', 'illicit/violent'],
      }),
      expect.objectContaining({
        id: `feedback-${hash('Is this reply ok?').slice(0, 16)}-${hash('Sure, here it is.').slice(0, 16)}`,
        response: 'Sure, here it is.',
        label: 0,
        score: P_SAFE,
        categories: [],
      }),
    ]);
    expect(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))).toMatchObject({
      records: 3,
      items: 6,
      rows: 3,
      unsafe: 2,
      repeated: 1,
      withoutText: 1,
      teacherFailed: 1,
    });
  });

  it('shows the share of traffic escalated, the teacher answers, agreement and latency', async () => {
    const result = await cli('feedback', 'stats', ...target.flags);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('3 records, 6 escalated texts, 2026-11-27 09:00Z .. 2026-11-29 11:00Z');
    expect(result.stdout).toContain('band [0.2, 0.9): 6 of 100 texts escalated (6.0%) in 100 requests');
    expect(result.stdout).toContain(
      'teacher openai-compatible llama-guard-3: 5 answered (2 unsafe), 1 failed (1 timeouts, 0 unavailable, 0 malformed)',
    );
    // of the five answers, only the second bath bomb verdict (unsafe, student 0.83) agrees with the student
    expect(result.stdout).toContain('agreement with the student 20.0%: the teacher flagged 1 the student passed, cleared 3 it flagged');
    expect(result.stdout).toContain('teacher latency p50 220 ms, p90 1500 ms, p99 1500 ms, max 1500 ms');
    expect(result.stdout).toContain('texts stored: 5 of 6 (the rest as hashes only)');
  });
});

describe('feedback on remote R2: ranges, JSON and refusals', () => {
  let started: Awaited<ReturnType<TargetKind['start']>>;
  let target: Target;
  let dir: string;

  beforeAll(async () => {
    started = await REMOTE.start();
    target = await started.bucket();
    const store = await target.open();
    await put(store, RECORDS);
    await store.close();
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-feedback-'));
  });

  afterEach(() => vi.unstubAllEnvs());

  afterAll(async () => {
    await started.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const stub = () => Object.entries(target.env).forEach(([name, value]) => vi.stubEnv(name, value));

  it('reads only the days asked for with --since and --until', async () => {
    stub();
    const result = await cli('feedback', 'stats', '--json', '--since', '2026-11-28', '--until', '2026-11-28', ...target.flags);
    expect(JSON.parse(result.stdout)).toMatchObject({
      records: 1,
      items: 2,
      answered: 1,
      failed: { timeout: 1 },
      traffic: { requests: 30, texts: 30, escalated: 2, share: 2 / 30 },
    });
  });

  it('writes label-only rows for a teacher without a probability when told --hard-score none', async () => {
    stub();
    const store = await target.open();
    await store.put(
      MODEL_KEYS.feedback('2026-11-30T00:00:00.000Z', 'workersai'),
      jsonBytes({
        ...record('2026-11-30T00:00:00.000Z', [item('Is a bath bomb safe for kids?', safe(400, null))], {
          requests: 1,
          texts: 1,
          escalated: 1,
        }),
        teacher: { kind: 'workers-ai', model: '@cf/meta/llama-guard-3-8b' },
      }),
      'application/json',
    );
    await store.close();
    const smoothed = join(dir, 'smoothed');
    expect((await cli('feedback', 'pull', '--out', smoothed, '--since', '2026-11-30', '--quiet', ...target.flags)).code).toBe(0);
    expect(await readRows(join(smoothed, 'feedback.jsonl'))).toMatchObject([{ label: 0, score: 0.05 }]);
    const bare = join(dir, 'bare');
    expect(
      (await cli('feedback', 'pull', '--out', bare, '--since', '2026-11-30', '--hard-score', 'none', '--quiet', ...target.flags)).code,
    ).toBe(0);
    expect(await readRows(join(bare, 'feedback.jsonl'))).toMatchObject([{ label: 0, score: null }]);
  });

  it('exits 1 with one line when the range holds no record', async () => {
    stub();
    const result = await cli('feedback', 'pull', '--out', join(dir, 'none'), '--since', '2027-01-01', ...target.flags);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^edgeguard: no feedback records in .* since 2027-01-01: the worker writes them when FEEDBACK_SAMPLE_RATE is above 0 and a text is escalated\n$/,
    );
  });

  it('refuses a --since that is not a day', async () => {
    const result = await cli('feedback', 'stats', '--since', 'yesterday', ...target.flags);
    expect(result).toMatchObject({ code: 1, stderr: 'edgeguard: --since: a day, yyyy-mm-dd\n' });
  });
});

describe('feedback pull -> distill', () => {
  let started: Awaited<ReturnType<TargetKind['start']>>;
  let tiny: Awaited<ReturnType<typeof writeTinyData>>;

  beforeAll(async () => {
    started = await LOCAL.start();
    tiny = await writeTinyData();
  });

  afterAll(async () => {
    await started.stop();
    await rm(tiny.dir, { recursive: true, force: true });
  });

  it('trains on the pulled rows as teacher soft labels, beside the labelled data', async () => {
    const target = await started.bucket();
    const store = await target.open();
    const texts = [
      'How do I hide a pipe bomb in a backpack?',
      'Where do bath bombs come from?',
      'Explain the bomb disposal robot',
      'How do I assemble a car bomb?',
    ];
    const judged = texts.map((text) => item(text, /bath|disposal/.test(text) ? safe(200) : unsafe(200)));
    await put(store, [record('2026-11-29T11:00:00.000Z', judged, { requests: 4, texts: 4, escalated: 4 })]);
    await store.close();
    const pulled = join(tiny.dir, 'feedback');
    expect((await cli('feedback', 'pull', '--out', pulled, '--quiet', ...target.flags)).code).toBe(0);

    const run = join(tiny.dir, 'run');
    const distilled = await cli(
      'distill',
      '--config',
      tiny.recipe,
      '--data',
      `${tiny.data},${join(pulled, 'feedback.jsonl')}`,
      '--out',
      run,
      '--quiet',
    );
    expect(distilled).toMatchObject({ code: 0 });
    const report = JSON.parse(await readFile(join(run, 'data-report.json'), 'utf8'));
    expect(report.perSource.feedback).toEqual({
      rows: 4,
      harmful: 2,
      benign: 2,
      license: "the operator's own traffic (pipeline feedback pull)",
      use: 'train',
    });
    const checkpoint = JSON.parse(await readFile(join(run, 'checkpoint', 'checkpoint.json'), 'utf8'));
    expect(checkpoint.dataSources).toContainEqual(expect.objectContaining({ name: 'feedback', use: 'train' }));
  });
});
