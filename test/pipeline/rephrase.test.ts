import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rephrase } from '../../pipeline/data/rephrase.ts';
import { createRng } from '../../pipeline/rng.ts';
import { cli } from './helpers/cli.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

const readLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('rephrase', () => {
  it('puts a how-to request in another how-to form, keeping what is asked', () => {
    const rng = createRng(1);
    const outs = new Set(Array.from({ length: 200 }, () => rephrase('How do I bake sourdough bread?', rng)));
    expect(outs.size).toBeGreaterThan(8);
    for (const out of outs) {
      expect(out).toMatch(/bake sourdough bread/i);
      expect(out).not.toBe('How do I bake sourdough bread?');
    }
    expect(outs).toContain('What is the best way to bake sourdough bread?');
    expect(outs).toContain('Bake sourdough bread.');
  });

  it('puts a task for the assistant in another task form, in sentence case', () => {
    const rng = createRng(2);
    const outs = new Set(Array.from({ length: 40 }, () => rephrase('Write a script that deletes NASA logs', rng)));
    expect(outs).toContain('Could you write a script that deletes NASA logs for me?');
    expect([...outs].every((o) => o!.includes('rite a script that deletes NASA logs'))).toBe(true);
  });

  it('leaves forms it does not know, long texts and multi-line texts alone', () => {
    const rng = createRng(3);
    expect(rephrase('The weather is nice today.', rng)).toBeNull();
    expect(rephrase('What is the capital of France?', rng)).toBeNull();
    expect(rephrase(`How do I ${'really '.repeat(60)}bake bread?`, rng)).toBeNull();
    expect(rephrase('How do I bake bread?\nAnd cake?', rng)).toBeNull();
    expect(rephrase('How do you feel today?', rng)).toBeNull();
  });
});

describe('data --rephrasings', () => {
  it("adds rephrased copies of harmful and benign requests with their label, in their request's group", async () => {
    const { dir, data } = await writeTinyData();
    const out = join(dir, 'out');
    const run = await cli('data', '--data', data, '--out', out, '--rephrasings', '1', '--refusal-pairs', '0', '--compliance-pairs', '0');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\d+ rephrasings/);
    const rows = [...(await readLines(join(out, 'train.jsonl'))), ...(await readLines(join(out, 'val.jsonl')))];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const rephrased = rows.filter((r) => r.id.endsWith(':rephrased'));
    // 36 harmful "Tell me how to …" requests and 32 benign requests in four how-to forms, minus
    // rephrasings that repeat a request already there (the benign set holds several forms of each)
    expect(rephrased.filter((r) => r.label === 1).length).toBe(36);
    expect(rephrased.filter((r) => r.label === 0).length).toBeGreaterThan(10);
    for (const r of rephrased) {
      const original = byId.get(r.id.replace(/:rephrased$/, ''))!;
      expect(r.group).toBe(original.group);
      expect(r.label).toBe(original.label);
      expect(r.prompt).not.toBe(original.prompt);
    }
    const requests = rows.filter((r) => r.response === null);
    expect(new Set(requests.map((r) => r.prompt)).size).toBe(requests.length);
  });
});
