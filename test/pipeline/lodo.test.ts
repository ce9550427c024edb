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

  it("reuses the folds of an earlier run of the same recipe with --resume, and refuses another recipe's", async () => {
    const { dir, recipe } = await writeTinyData();
    const folds = join(dir, 'folds.json');
    await writeFile(folds, JSON.stringify([['tiny-benign']]));
    const out = join(dir, 'lodo');
    expect((await cli('lodo', '--config', recipe, '--folds', folds, '--out', out, '--quiet')).code).toBe(0);
    const first = JSON.parse(await readFile(join(out, 'lodo.json'), 'utf8'));
    const again = await cli('lodo', '--config', recipe, '--folds', folds, '--out', out, '--resume');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`fold 1: reusing ${join(out, 'fold-1')}`);
    expect(JSON.parse(await readFile(join(out, 'lodo.json'), 'utf8'))).toEqual(first);
    // the operating point written into the recipe afterwards does not make it another recipe
    const pointed = join(dir, 'pointed.json');
    await writeFile(
      pointed,
      JSON.stringify({ ...JSON.parse(await readFile(recipe, 'utf8')), threshold: 'fixed:0.875', categoryThresholds: { hate: 0.99 } }),
    );
    expect((await cli('lodo', '--config', pointed, '--folds', folds, '--out', out, '--resume')).stderr).toContain(
      `fold 1: reusing ${join(out, 'fold-1')}`,
    );
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ ...JSON.parse(await readFile(recipe, 'utf8')), valFraction: 0.3 }));
    const refused = await cli('lodo', '--config', other, '--folds', folds, '--out', out, '--resume');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `edgeguard: ${join(out, 'fold-1')} holds a fold of another recipe; use another --out, or delete the folder to run the fold again\n`,
    );
  });

  it('refuses a fold number that does not exist', async () => {
    const { dir, recipe } = await writeTinyData();
    const result = await cli('lodo', '--config', recipe, '--out', join(dir, 'x'), '--only', '9');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('there is no fold 9');
  });
});
