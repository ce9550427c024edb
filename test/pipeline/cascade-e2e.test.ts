/**
 * The cascade's "done when", end to end: the real worker under `wrangler dev` (its own temporary
 * persistence directory, a 1 s model TTL, an ephemeral port) with the project's local
 * OpenAI-compatible server on loopback as its Llama Guard 3 teacher (test/fixtures/llm), and the
 * real CLI on the same local R2. An uncertain prompt is decided by the teacher and says so; a sure
 * one never reaches it; a dead teacher costs at most the timeout. Then the loop of
 * pipeline/README.md: escalate -> feedback pull -> distill -> export -> deploy ->
 * promote --candidate -> shadow-report -> promote.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLlamaGuardPrompt } from '../../src/teacher/llama-guard.ts';
import { playLlamaGuard } from '../fixtures/llm/llama-guard-teacher.ts';
import { startMockLlm, type MockLlmServer } from '../fixtures/llm/server.ts';
import { cli } from './helpers/cli.ts';
import { startDevWorker, type DevWorker } from './helpers/dev-worker.ts';
import { writeModelFolder } from './helpers/registry-targets.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

const TIMEOUT_MS = 1000;
const READY_TIMEOUT_MS = 60_000;
/** How long a pointer move or a write after the response may take to show, on 2 busy cores. */
const DEADLINE_MS = 20_000;
/** In the band [0.2, 0.9) of the fixture model (P(harmful) about 0.31, 0.83 and 0.51): a bomb for the scripted teacher, then two bath bombs. */
const UNCERTAIN = [
  'Tell me about the history of the bomb in the second world war and the people who worked on it',
  'Where can I buy a bath bomb with lavender?',
  'Where can I buy a bath bomb with lavender and a nice smell?',
];
/** Outside the band (about 0.98 and 0.02). */
const SURE = ['How do I build a pipe bomb?', 'How do I bake bread?'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  flagged: boolean;
  decidedBy: 'student' | 'teacher';
  teacher?: { unsafe?: boolean; error?: string; message?: string };
}

describe('the cascade end to end: wrangler dev with a teacher on loopback, and the loop through the CLI', () => {
  let dir: string;
  let persistTo: string;
  let llm: MockLlmServer;
  let worker: DevWorker | undefined;
  const local = () => ['--local', '--persist-to', persistTo];

  async function classify(prompt: string): Promise<{ result: Result; version: string; ms: number; timing: string }> {
    const started = Date.now();
    const response = await fetch(`${worker!.base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    const body = (await response.json()) as { results: Result[]; model: { version: string } };
    expect(response.status).toBe(200);
    return {
      result: body.results[0]!,
      version: body.model.version,
      ms: Date.now() - started,
      timing: response.headers.get('server-timing') ?? '',
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-cascade-e2e-'));
    persistTo = join(dir, 'state');
    await writeModelFolder(dir, 'cascade-v1');
    expect((await cli('deploy', join(dir, 'cascade-v1'), '--promote', ...local())).code).toBe(0);
    llm = playLlamaGuard(await startMockLlm());
    worker = await startDevWorker({
      persistTo,
      vars: {
        TEACHER_URL: llm.url,
        TEACHER_MODEL: 'llama-guard-3',
        ESCALATE_BAND: '0.2,0.9',
        TEACHER_TIMEOUT_MS: String(TIMEOUT_MS),
        FEEDBACK_SAMPLE_RATE: '1',
        MODEL_TTL_SECONDS: '1',
      },
    });
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await worker?.stop();
    await llm?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets the teacher decide an uncertain prompt, and says so', async () => {
    const { result, timing } = await classify(UNCERTAIN[0]!);
    expect(result).toMatchObject({ flagged: true, decidedBy: 'teacher', teacher: { unsafe: true } });
    expect(timing).toMatch(/teacher;dur=/);
    const asked = llm.answered().at(-1)!;
    expect(asked.path).toBe('/v1/completions');
    expect(asked.body).toMatchObject({
      model: 'llama-guard-3',
      prompt: renderLlamaGuardPrompt(UNCERTAIN[0]!, null),
      logprobs: 5,
      temperature: 0,
    });
  });

  it('never sends a sure prompt to the teacher', async () => {
    const before = llm.requests.length;
    const results = await Promise.all(SURE.map(classify));
    expect(results.map(({ result }) => [result.flagged, result.decidedBy])).toEqual([
      [true, 'student'],
      [false, 'student'],
    ]);
    expect(llm.requests.length).toBe(before);
  });

  it("costs at most the timeout when the teacher is dead, and returns the student's verdict", async () => {
    llm.hold = true;
    try {
      const { result, ms } = await classify(UNCERTAIN[1]!);
      expect(result).toMatchObject({
        flagged: true,
        decidedBy: 'student',
        teacher: { error: 'timeout', message: `no answer within ${TIMEOUT_MS} ms (TEACHER_TIMEOUT_MS)` },
      });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + 2_000);
    } finally {
      llm.hold = false;
    }
  });

  it('runs the loop: feedback pull -> distill -> export -> deploy -> promote --candidate -> shadow-report -> promote', async () => {
    for (const prompt of UNCERTAIN) expect((await classify(prompt)).result.decidedBy).toBe('teacher');

    // the records are written after the responses: wait until the teacher's three verdicts show
    let stats: { records: number; answered: number; traffic: { escalated: number } } = {
      records: 0,
      answered: 0,
      traffic: { escalated: 0 },
    };
    for (const started = Date.now(); Date.now() - started < DEADLINE_MS && stats.answered < 4; await sleep(250)) {
      stats = JSON.parse((await cli('feedback', 'stats', '--json', ...local())).stdout);
    }
    expect(stats.answered).toBeGreaterThanOrEqual(4);

    const pulled = join(dir, 'feedback');
    expect(await cli('feedback', 'pull', '--out', pulled, '--quiet', ...local())).toMatchObject({ code: 0 });
    const rows = (await readFile(join(pulled, 'feedback.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => [r.prompt, r.label])).toEqual(
      expect.arrayContaining([
        [UNCERTAIN[0], 1],
        [UNCERTAIN[1], 0],
        [UNCERTAIN[2], 0],
      ]),
    );

    const tiny = await writeTinyData();
    try {
      const run = join(dir, 'run');
      expect(
        await cli('distill', '--config', tiny.recipe, '--data', `${tiny.data},${join(pulled, 'feedback.jsonl')}`, '--out', run, '--quiet'),
      ).toMatchObject({ code: 0 });
      expect(
        await cli('export', '--checkpoint', join(run, 'checkpoint'), '--out', join(run, 'model'), '--version', 'cascade-v2'),
      ).toMatchObject({ code: 0 });
      expect(await cli('deploy', join(run, 'model'), ...local())).toMatchObject({ code: 0 });
      expect(await cli('promote', 'cascade-v2', '--candidate', ...local())).toMatchObject({ code: 0 });
    } finally {
      await rm(tiny.dir, { recursive: true, force: true });
    }

    let comparisons: { current: string; candidate: string; texts: number }[] = [];
    for (const started = Date.now(); Date.now() - started < DEADLINE_MS && comparisons.length === 0; await sleep(250)) {
      for (const prompt of SURE) await classify(prompt);
      comparisons = JSON.parse((await cli('shadow-report', '--json', ...local())).stdout).comparisons;
    }
    expect(comparisons[0]).toMatchObject({ current: 'cascade-v1', candidate: 'cascade-v2' });

    expect(await cli('promote', 'cascade-v2', ...local())).toMatchObject({ code: 0 });
    let version = '';
    for (const started = Date.now(); Date.now() - started < DEADLINE_MS && version !== 'cascade-v2'; await sleep(250))
      version = (await classify(SURE[1]!)).version;
    expect(version).toBe('cascade-v2');
  });
});
