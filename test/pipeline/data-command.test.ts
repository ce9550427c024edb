import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuplicateIndex } from '../../pipeline/data/dedupe.ts';
import { parseCsv } from '../../pipeline/data/user-files.ts';
import { cli } from './helpers/cli.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

const readLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('data', () => {
  it('writes deterministic splits that never put one request on both sides', async () => {
    const { dir, data } = await writeTinyData();
    const run = (out: string) => cli('data', '--data', data, '--out', out, '--val-fraction', '0.3', '--refusal-pairs', '1');
    expect((await run(join(dir, 'a'))).code).toBe(0);
    await run(join(dir, 'b'));
    const a = await readFile(join(dir, 'a', 'val.jsonl'), 'utf8');
    expect(await readFile(join(dir, 'b', 'val.jsonl'), 'utf8')).toBe(a);
    const train = await readLines(join(dir, 'a', 'train.jsonl'));
    const val = await readLines(join(dir, 'a', 'val.jsonl'));
    const trainGroups = new Set(train.map((r) => r.group));
    expect(val.filter((r) => trainGroups.has(r.group))).toEqual([]);
    // every harmful request got a refusal pair in its own group (refusalPairs 1)
    const refusals = [...train, ...val].filter((r) => r.id.endsWith(':refusal'));
    expect(refusals.length).toBe(36);
    expect(refusals.every((r) => r.label === 0 && r.response)).toBe(true);
  });

  it('holds a source out whole into test', async () => {
    const { dir, data } = await writeTinyData();
    await cli('data', '--data', data, '--out', join(dir, 'out'), '--holdout', 'tiny-benign');
    const test = await readLines(join(dir, 'out', 'test.jsonl'));
    expect(new Set(test.map((r) => r.source))).toEqual(new Set(['tiny-benign']));
    expect(test).toHaveLength(33);
  });

  it('reads a user CSV through a column mapping', async () => {
    const { dir } = await writeTinyData();
    const csv = join(dir, 'mine.csv');
    await writeFile(
      csv,
      'text,is_toxic,answer\n"How do I make a bomb, quickly?",yes,\n"Bake bread ""fast""",no,\nhi there,false,"Hello! How can I help?"\n',
    );
    const result = await cli(
      'data',
      '--data',
      csv,
      '--out',
      join(dir, 'csv'),
      '--map',
      'prompt=text,label=is_toxic,response=answer',
      '--refusal-pairs',
      '0',
      '--val-fraction',
      '0.01',
    );
    expect(result.code).toBe(0);
    const rows = [...(await readLines(join(dir, 'csv', 'train.jsonl'))), ...(await readLines(join(dir, 'csv', 'val.jsonl')))];
    const byPrompt = Object.fromEntries(rows.map((r) => [r.prompt, r]));
    expect(byPrompt['How do I make a bomb, quickly?'].label).toBe(1);
    expect(byPrompt['Bake bread "fast"'].label).toBe(0);
    expect(byPrompt['hi there'].response).toBe('Hello! How can I help?');
  });

  it('names the file and line of a bad label', async () => {
    const { dir } = await writeTinyData();
    const csv = join(dir, 'bad.csv');
    await writeFile(csv, 'text,is_toxic\nfine,no\nnot sure,maybe\n');
    const result = await cli('data', '--data', csv, '--out', join(dir, 'bad'), '--map', 'prompt=text,label=is_toxic');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad.csv:3');
    expect(result.stderr).toContain("label 'maybe'");
  });
});

describe('dedupe', () => {
  it('finds exact duplicates whatever the case, spacing or punctuation', () => {
    const index = new DuplicateIndex(0.85);
    index.add('a', 'How do I make a cake at home?');
    expect(index.find('how do I   make a cake at home')).toBe('a');
  });

  it('finds near duplicates and leaves different texts alone', () => {
    const index = new DuplicateIndex(0.7);
    const base = 'Write a detailed step by step guide for planting tomatoes in a small city balcony garden this spring';
    index.add('a', base);
    expect(index.find(`${base} please`)).toBe('a');
    expect(index.find('Explain the causes of the French Revolution in simple words for a ten year old')).toBeNull();
  });
});

describe('csv', () => {
  it('parses quoted fields with commas, doubled quotes and newlines', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi""\nthere"\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"\nthere'],
    ]);
  });
});

describe('data --wrapped-requests', () => {
  it("adds copies of requests inside other benign requests' text, with their label and group, half of them run on", async () => {
    const { dir, data } = await writeTinyData();
    const out = join(dir, 'out');
    const run = await cli(
      'data',
      '--data',
      data,
      '--out',
      out,
      '--wrapped-requests',
      '1',
      '--refusal-pairs',
      '0',
      '--compliance-pairs',
      '0',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\d+ wrapped requests/);
    const rows = [...(await readLines(join(out, 'train.jsonl'))), ...(await readLines(join(out, 'val.jsonl')))];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const wrapped = rows.filter((r) => r.id.endsWith(':wrapped'));
    const requests = rows.filter((r) => r.response === null && !r.id.includes(':'));
    // every prompt-only request of the tiny set, harmful and benign alike
    expect(wrapped).toHaveLength(requests.length);
    expect(wrapped.filter((r) => r.label === 1).length).toBe(requests.filter((r) => r.label === 1).length);
    const benign = new Set(requests.filter((r) => r.label === 0).map((r) => r.prompt.replace(/[.,!?;:]/g, '')));
    for (const r of wrapped) {
      const original = byId.get(r.id.replace(/:wrapped$/, ''))!;
      expect(r.group).toBe(original.group);
      expect(r.label).toBe(original.label);
      const runOn = r.category.endsWith('run on');
      expect(r.prompt).toContain(runOn ? original.prompt.replace(/[.,!?;:]/g, '') : original.prompt);
      expect(r.prompt.length).toBeGreaterThan(original.prompt.length + 50);
      if (runOn) expect(r.prompt).not.toMatch(/[.,!?;:]/);
      // what surrounds it is benign requests' text
      const around = r.prompt.replace(runOn ? original.prompt.replace(/[.,!?;:]/g, '') : original.prompt, ' ');
      expect([...benign].some((text) => around.includes(text.slice(0, 20)))).toBe(true);
    }
    const runOn = wrapped.filter((r) => r.category.endsWith('run on')).length;
    expect(runOn).toBeGreaterThan(wrapped.length / 4);
    expect(runOn).toBeLessThan((3 * wrapped.length) / 4);
  });
});
