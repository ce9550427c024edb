import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

describe('lodo', () => {
  it('scores each held-out set with a model trained without it and writes the table', async () => {
    const { dir, recipe } = await writeTinyData();
    const folds = join(dir, 'folds.json');
    await writeFile(folds, JSON.stringify([['tiny-benign']]));
    const result = await cli('lodo', '--config', recipe, '--folds', folds, '--out', join(dir, 'lodo'), '--quiet');
    expect(result.code).toBe(0);
    const table = JSON.parse(await readFile(join(dir, 'lodo', 'lodo.json'), 'utf8'));
    expect(table.rows).toHaveLength(1);
    expect(table.rows[0]).toMatchObject({ source: 'tiny-benign', fold: 1, rows: 33, harmful: 0, benign: 33 });
    expect(table.rows[0].fpr).toBeGreaterThanOrEqual(0);
    const manifest = JSON.parse(await readFile(join(dir, 'lodo', 'fold-1', 'model', 'manifest.json'), 'utf8'));
    expect(manifest.dataSources.find((s: { name: string }) => s.name === 'tiny-benign').use).toBe('eval-only');
    expect(await readFile(join(dir, 'lodo', 'lodo.md'), 'utf8')).toContain('| 1 | tiny-benign | 33 |');
  });

  it('refuses a fold number that does not exist', async () => {
    const { dir, recipe } = await writeTinyData();
    const result = await cli('lodo', '--config', recipe, '--out', join(dir, 'x'), '--only', '9');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('there is no fold 9');
  });
});
