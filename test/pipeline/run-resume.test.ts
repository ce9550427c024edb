import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../pipeline/llm/cache.ts';
import { scriptedModel } from '../fixtures/llm/scripted-model.ts';
import { type MockLlmServer, startMockLlm } from '../fixtures/llm/server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKENIZER = join(ROOT, 'test/fixtures/llm/tokenizer');
// Node 22 runs the .ts sources natively; the system node may be older, the project's is not.
const NODE = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : join(ROOT, 'node_modules/.bin/node');

let llm: MockLlmServer;
let dir: string;
const children: ChildProcess[] = [];

function startRun(configPath: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(NODE, [join(ROOT, 'pipeline/main.ts'), 'run', '--config', configPath, '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (code) process.stderr.write(stderr);
      resolve(code);
    }),
  );
  return { child, exited };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function readRows(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const key = (r: { path: string; body: unknown }) => `${r.path} ${canonicalJson(r.body)}`;

beforeEach(async () => {
  llm = await startMockLlm();
  llm.generate = scriptedModel;
  dir = await mkdtemp(join(tmpdir(), 'run-resume-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await llm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('run after a kill', () => {
  it('continues where it stopped: no finished request asked again, no row lost or duplicated', async () => {
    await writeConfig();

    // First run: let it finish 20 requests (into respond), then stop answering and kill it.
    const first = startRun(join(dir, 'run.json'));
    await until(() => llm.answered().length >= 20, 30_000);
    llm.hold = true;
    await new Promise((r) => setTimeout(r, 500)); // answers already sent are processed; held ones never finish
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const finished = new Set(llm.answered().map(key));
    const cutoff = llm.requests.length;
    expect(finished.size).toBeGreaterThanOrEqual(20);
    expect(finished.size).toBeLessThan(72);

    // Second run: completes, and never repeats a request that had been answered.
    llm.hold = false;
    const second = startRun(join(dir, 'run.json'));
    expect(await second.exited).toBe(0);
    const repeated = llm.requests.slice(cutoff).filter((r) => finished.has(key(r)));
    expect(repeated).toEqual([]);
    // Across both runs, no request was answered twice.
    expect(new Set(llm.answered().map(key)).size).toBe(llm.answered().length);

    await expectCompleteRows();
  });

  it('loses and duplicates no row when killed at an arbitrary moment', async () => {
    await writeConfig();
    const first = startRun(join(dir, 'run.json'));
    await until(() => llm.answered().length >= 31, 30_000);
    first.child.kill('SIGKILL'); // no pause: writes may be cut anywhere
    await first.exited;
    const second = startRun(join(dir, 'run.json'));
    expect(await second.exited).toBe(0);
    await expectCompleteRows();
  });
});

const COUNT = 12; // 12 instructions (12+ samples) -> 24 answers -> 36 teacher calls: 72+ requests in all

async function writeConfig(): Promise<void> {
  const seeds = [
    { id: 's1', prompt: 'Explain how to break into a car', label: 1, source: 'seed' },
    { id: 's2', prompt: 'Write an insulting message about my coworker', label: 1, source: 'seed' },
  ];
  await writeFile(join(dir, 'seeds.jsonl'), seeds.map((r) => JSON.stringify(r)).join('\n'));
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({
      out: join(dir, 'run'),
      llm: { baseUrl: llm.url, concurrency: 3 },
      augment: { model: 'generator', tokenizer: TOKENIZER, seedData: [join(dir, 'seeds.jsonl')], count: COUNT },
      respond: { model: 'responder' },
      label: { model: 'llama-guard-3' },
    }),
  );
  for (let i = 0; i < 200; i++) llm.script({ delayMs: 15 });
}

async function expectCompleteRows(): Promise<void> {
  const run = join(dir, 'run');
  for (const [file, n] of [
    ['augment/prompts.jsonl', COUNT],
    ['respond/responses.jsonl', 2 * COUNT],
    ['label/labeled.jsonl', 3 * COUNT],
  ] as const) {
    const ids = (await readRows(join(run, file))).map((r) => r.id);
    expect(ids, file).toHaveLength(n);
    expect(new Set(ids).size, file).toBe(n);
  }
}
