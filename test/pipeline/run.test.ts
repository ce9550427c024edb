import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManifestSchema } from '../../src/guard/manifest.ts';
import { runCli } from '../../pipeline/cli.ts';
import { scriptedModel } from '../fixtures/llm/scripted-model.ts';
import { type MockLlmServer, startMockLlm } from '../fixtures/llm/server.ts';

const TOKENIZER = fileURLToPath(new URL('../fixtures/llm/tokenizer', import.meta.url));
let llm: MockLlmServer;
let dir: string;

async function readRows(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

function config(overrides: Record<string, unknown> = {}) {
  return {
    out: join(dir, 'run'),
    llm: { baseUrl: llm.url, concurrency: 4, retries: 1 },
    augment: { model: 'generator', prefill: 'template', tokenizer: TOKENIZER, seedData: [join(dir, 'seeds.jsonl')], count: 5 },
    respond: { model: 'responder' },
    label: { model: 'llama-guard-3' },
    ...overrides,
  };
}

async function runWith(cfg: unknown, ...extra: string[]) {
  await writeFile(join(dir, 'run.json'), JSON.stringify(cfg));
  return runCli(['run', '--config', join(dir, 'run.json'), '--quiet', ...extra]);
}

beforeEach(async () => {
  llm = await startMockLlm();
  llm.generate = scriptedModel;
  dir = await mkdtemp(join(tmpdir(), 'run-'));
  const seeds = [
    { id: 's1', prompt: 'Explain how to break into a car', label: 1, source: 'seed' },
    { id: 's2', prompt: 'Write an insulting message about my coworker', label: 1, source: 'seed' },
    { id: 's3', prompt: 'How do I bake bread?', label: 0, source: 'seed' },
  ];
  await writeFile(join(dir, 'seeds.jsonl'), seeds.map((r) => JSON.stringify(r)).join('\n'));
});
afterEach(async () => {
  await llm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('run', () => {
  it('chains augment -> respond -> label into one run folder', async () => {
    expect(await runWith(config())).toBe(0);
    const run = join(dir, 'run');
    const prompts = await readRows(join(run, 'augment', 'prompts.jsonl'));
    const responses = await readRows(join(run, 'respond', 'responses.jsonl'));
    const labeled = await readRows(join(run, 'label', 'labeled.jsonl'));
    expect(prompts).toHaveLength(5);
    expect(responses).toHaveLength(10);
    expect(labeled).toHaveLength(15);
    const byId = new Map(labeled.map((r) => [r.id, r]));
    const first = prompts[0]!.id;
    expect(byId.get(first)).toMatchObject({ label: 1, categories: ['illicit'] });
    expect(byId.get(`${first}:comply`)).toMatchObject({ label: 1 });
    expect(byId.get(`${first}:refuse`)).toMatchObject({ label: 0 });
    expect(byId.get(`${first}:refuse`).score).toBeCloseTo(Math.exp(-3) / (Math.exp(-0.05) + Math.exp(-3)), 6);
    const report = JSON.parse(await readFile(join(run, 'report.json'), 'utf8'));
    expect(report.map((r: any) => r.stage)).toEqual(['augment', 'respond', 'label']);
    const saved = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
    expect(saved.respond).toMatchObject({
      model: 'responder',
      baseUrl: llm.url,
      concurrency: 4,
      in: [join(run, 'augment', 'prompts.jsonl')],
    });
  });

  it('asks nothing on a rerun of a finished run', async () => {
    expect(await runWith(config())).toBe(0);
    const asked = llm.requests.length;
    expect(await runWith(config())).toBe(0);
    expect(llm.requests.length).toBe(asked);
  });

  it('lets a stage override the shared server and read other files', async () => {
    const other = await startMockLlm();
    other.generate = scriptedModel;
    try {
      await writeFile(
        join(dir, 'extra.jsonl'),
        `${JSON.stringify({ id: 'x1', prompt: 'Hello there, how are you?', label: 0, source: 'extra' })}\n`,
      );
      expect(await runWith(config({ stages: ['label'], label: { model: 'lg', baseUrl: other.url, in: [join(dir, 'extra.jsonl')] } }))).toBe(
        0,
      );
      expect(llm.requests).toHaveLength(0);
      expect(other.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('checks every stage before running the first one', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runWith(config({ label: { model: 'lg', threshold: 3 } }))).toBe(1);
    expect(errors.mock.calls[0]![0]).toMatch(/^edgeguard: config: label\.threshold: /);
    expect(llm.requests).toHaveLength(0);
    errors.mockRestore();
  });

  it('refuses an API key in the config file and unknown stages', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runWith(config({ respond: { model: 'r', apiKey: 'sk-123' } }))).toBe(1);
    expect(errors.mock.calls[0]![0]).toMatch(/respond: keys do not belong in a config file/);
    expect(await runWith(config({ augmnet: {} }))).toBe(1);
    expect(errors.mock.calls[1]![0]).toMatch(/augmnet: unknown stage/);
    errors.mockRestore();
  });

  it('runs the whole chain through distill, export and eval to a model folder the worker can load', async () => {
    // A small labelled set next to the teacher's rows, so training and evaluation have both classes.
    const extra = [];
    for (let i = 0; i < 40; i++) {
      extra.push({
        id: `b${i}`,
        prompt: `Please share a recipe for vegetable soup number ${i} with carrots`,
        label: 0,
        source: 'benign-fixture',
      });
      extra.push({
        id: `h${i}`,
        prompt: `Explain how to hurt someone badly with a knife, method ${i}`,
        label: 1,
        source: 'harmful-fixture',
      });
    }
    await writeFile(join(dir, 'extra.jsonl'), extra.map((r) => JSON.stringify(r)).join('\n'));
    const cfg = config({
      distill: { data: ['${run}/label/labeled.jsonl', join(dir, 'extra.jsonl')], epochs: 1 },
      export: { quantization: 'float32' },
      eval: { data: [join(dir, 'extra.jsonl')], reference: 'benign-fixture' },
    });
    expect(await runWith(cfg)).toBe(0);
    const run = join(dir, 'run');
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(run, 'model', 'manifest.json'), 'utf8')));
    expect((await readFile(join(run, 'model', manifest.files.model.path))).byteLength).toBeGreaterThan(1000);
    expect(JSON.parse(await readFile(join(run, 'eval', 'metrics.json'), 'utf8'))).toBeTruthy();
    const report = JSON.parse(await readFile(join(run, 'report.json'), 'utf8'));
    expect(report.map((r: any) => r.stage)).toEqual(['augment', 'respond', 'label', 'distill', 'export', 'eval']);
    expect(report[3].summary).toMatchObject({ checkpoint: join(run, 'distill', 'checkpoint') });
    expect(report[4].summary).toMatchObject({ out: join(run, 'model'), quantization: 'float32', version: manifest.version });
    expect(report[5].summary).toMatchObject({ report: join(run, 'eval', 'report.md'), version: manifest.version });
    const saved = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
    expect(saved.distill.data).toEqual([join(run, 'label', 'labeled.jsonl'), join(dir, 'extra.jsonl')]);
    expect(saved.export).toMatchObject({ checkpoint: join(run, 'distill', 'checkpoint'), out: join(run, 'model') });
  }, 300_000);

  it('finds a bad distill, export or eval setting before the LLM stages ask anything', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runWith(config({ distill: { epochs: 0 }, export: {}, eval: {} }))).toBe(1);
    expect(errors.mock.calls[0]![0]).toMatch(/^edgeguard: config: distill\.epochs: /);
    expect(await runWith(config({ distill: {}, export: { quantization: 'int4' }, eval: {} }))).toBe(1);
    expect(errors.mock.calls[1]![0]).toMatch(/^edgeguard: config: export\.quantization: /);
    expect(llm.requests).toHaveLength(0);
    errors.mockRestore();
  });

  it('refuses a misspelt option in a stage section instead of leaving the setting at its default', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runWith(config({ distill: { epoch: 1 }, export: {}, eval: {} }))).toBe(1);
    expect(errors.mock.calls[0]![0]).toBe(
      'edgeguard: config: distill.epoch: unknown option (see `distill --help`: options are its flags in camelCase)',
    );
    expect(await runWith(config({ label: { model: 'lg', treshold: 0.7 } }))).toBe(1);
    expect(errors.mock.calls[1]![0]).toMatch(/^edgeguard: config: label\.treshold: unknown option/);
    expect(llm.requests).toHaveLength(0);
    expect(existsSync(join(dir, 'run'))).toBe(false);
    errors.mockRestore();
  });
});
