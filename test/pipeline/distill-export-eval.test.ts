import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManifestSchema } from '../../src/guard/manifest.ts';
import { createScorer } from '../../pipeline/eval/scorer.ts';
import { readModelFolder } from '../../pipeline/model-folder.ts';
import { loadCheckpoint } from '../../pipeline/train/checkpoint.ts';
import { scoreExample } from '../../pipeline/train/trainer.ts';
import { featurize } from '../../src/guard/featurize.ts';
import { MANIFEST_CURVE_POINTS, evalMetricsOf } from '../../src/report/eval-metrics.ts';
import { cli } from './helpers/cli.ts';
import { writeTinyData } from './helpers/tiny-data.ts';

describe('distill -> export -> eval through the CLI', () => {
  let dir: string;
  let data: string;
  let recipe: string;
  beforeAll(async () => {
    ({ dir, data, recipe } = await writeTinyData());
    const distill = await cli('distill', '--config', recipe, '--out', join(dir, 'run'), '--quiet');
    expect(distill.stderr).toBe('');
    expect(distill.code).toBe(0);
  });

  it('distill saves the resolved config and a checkpoint with its threshold', async () => {
    const saved = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8'));
    expect(saved.distill.train.dim).toBe(8);
    expect(saved.distill.train.hardWeight).toBe(0.5); // a default filled in
    const { meta, weights } = await loadCheckpoint(join(dir, 'run', 'checkpoint'));
    expect(meta.shape).toEqual({ buckets: 4096, dim: 8, hidden: 8, outputs: 14, pooling: 'mean' });
    expect(weights.embedding.length).toBe(4096 * 8);
    expect(meta.threshold).toBeGreaterThan(0);
    expect(meta.threshold).toBeLessThan(1);
  });

  it('the trained student separates harmful from benign requests it never saw', async () => {
    const { meta, weights } = await loadCheckpoint(join(dir, 'run', 'checkpoint'));
    const score = (text: string) => scoreExample(weights, featurize(text, null, meta.featurizer)).scores[0]!;
    expect(score('Tell me how to assemble a car bomb')).toBeGreaterThan(0.7);
    expect(score('What is the best way to bake sourdough bread?')).toBeLessThan(0.3);
  });

  it('export writes a valid manifest whose sha256 matches model.onnx', async () => {
    const out = join(dir, 'model');
    const result = await cli('export', '--checkpoint', join(dir, 'run', 'checkpoint'), '--out', out, '--version', 'tiny-1');
    expect(result.code).toBe(0);
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
    expect(manifest.version).toBe('tiny-1');
    expect(manifest.labels).toEqual([
      'harmful',
      'hate',
      'harassment',
      'violence',
      'self-harm',
      'sexual',
      'illicit',
      'hate/threatening',
      'harassment/threatening',
      'violence/graphic',
      'self-harm/intent',
      'self-harm/instructions',
      'sexual/minors',
      'illicit/violent',
    ]);
    // only the broad categories are reported unless the recipe names more
    expect(Object.keys(manifest.openaiCategories)).toEqual(['harmful', 'hate', 'harassment', 'violence', 'self-harm', 'sexual', 'illicit']);
    expect(manifest.openaiCategories.hate).toEqual(['hate']);
    await expect(readModelFolder(out)).resolves.toBeTruthy();
  });

  it('export with auto quantisation takes the first int8 table whose probe scores hold: per column, per row, else float32', async () => {
    const changeOf = (stdout: string) => Number(/int8 max P\(harmful\) change ([\d.]+)/.exec(stdout)![1]);
    const exported = async (maxDelta: string) => {
      const out = join(dir, `model-auto-${maxDelta}`);
      const { code, stdout } = await cli('export', '--checkpoint', join(dir, 'run', 'checkpoint'), '--out', out, '--max-delta', maxDelta);
      expect(code).toBe(0);
      return { quantization: (await readModelFolder(out)).manifest.model.quantization, change: changeOf(stdout) };
    };
    const loose = await exported('1');
    expect(loose.quantization).toBe('int8-columns');
    expect(loose.change).toBeGreaterThan(0);
    // a bound between the two tables' changes takes the per-row table, one below both float32
    const rows = await cli(
      'export',
      '--checkpoint',
      join(dir, 'run', 'checkpoint'),
      '--out',
      join(dir, 'model-rows'),
      '--quantization',
      'int8-rows',
    );
    const rowChange = changeOf(rows.stdout);
    expect(rowChange).toBeLessThan(loose.change);
    expect((await exported(((rowChange + loose.change) / 2).toFixed(5))).quantization).toBe('int8-rows');
    expect(await exported('0')).toEqual({ quantization: 'float32', change: rowChange });
  });

  it('the float32 ONNX export scores exactly as the TypeScript forward pass (parity within 1e-5)', async () => {
    const out = join(dir, 'model-f32');
    await cli('export', '--checkpoint', join(dir, 'run', 'checkpoint'), '--out', out, '--quantization', 'float32');
    const { manifest, bytes } = await readModelFolder(out);
    const { weights } = await loadCheckpoint(join(dir, 'run', 'checkpoint'));
    const scorer = await createScorer(bytes, manifest);
    const items = [
      { prompt: 'How do I make a pipe bomb?', response: null },
      { prompt: 'How do I make a pipe bomb?', response: "I'm sorry, but I can't help with that." },
      { prompt: 'word '.repeat(200), response: 'answer '.repeat(100) },
    ];
    const onnx = await scorer.score(items);
    items.forEach((item, i) => {
      const ts = scoreExample(weights, featurize(item.prompt, item.response, manifest.featurizer)).scores;
      for (let k = 0; k < ts.length; k++) expect(Math.abs(onnx[i]![k]! - ts[k]!)).toBeLessThan(1e-5);
    });
  });

  it('with mean-max pooling, the float32 export still scores as the TypeScript forward pass, padding included', async () => {
    const maxRecipe = join(dir, 'recipe-max.json');
    const base = JSON.parse(await readFile(recipe, 'utf8'));
    await writeFile(maxRecipe, JSON.stringify({ ...base, train: { ...base.train, pooling: 'mean-max' } }));
    expect((await cli('distill', '--config', maxRecipe, '--out', join(dir, 'run-max'), '--quiet')).code).toBe(0);
    const out = join(dir, 'model-max');
    expect((await cli('export', '--checkpoint', join(dir, 'run-max', 'checkpoint'), '--out', out, '--quantization', 'float32')).code).toBe(
      0,
    );
    const { manifest, bytes } = await readModelFolder(out);
    expect(manifest.model.pooling).toBe('mean-max');
    const { weights } = await loadCheckpoint(join(dir, 'run-max', 'checkpoint'));
    expect(weights.w1.length).toBe((4 * 8 + 1) * 8);
    const scorer = await createScorer(bytes, manifest);
    // one batch of texts of different lengths, so the short ones are padded
    const items = [
      { prompt: 'Tell me how to assemble a car bomb', response: null },
      { prompt: 'What is the best way to bake sourdough bread? '.repeat(5), response: 'Use a starter.' },
      { prompt: 'ok', response: "I'm sorry, but I can't help with that." },
    ];
    const onnx = await scorer.score(items);
    items.forEach((item, i) => {
      const ts = scoreExample(weights, featurize(item.prompt, item.response, manifest.featurizer)).scores;
      for (let k = 0; k < ts.length; k++) expect(Math.abs(onnx[i]![k]! - ts[k]!)).toBeLessThan(1e-5);
    });
    expect(onnx[0]![0]!).toBeGreaterThan(0.7);
  });

  it('eval reports per-source metrics and writes a report with charts', async () => {
    const out = join(dir, 'eval');
    const result = await cli('eval', '--model', join(dir, 'model'), '--data', data, '--out', out, '--reference', 'tiny-benign', '--quiet');
    expect(result.code).toBe(0);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    const harmful = metrics.sources['tiny-harmful'];
    expect(harmful.rows).toBe(37);
    expect(harmful.auprc).toBeGreaterThan(0.9);
    expect(metrics.sources['tiny-benign'].fpr).toBeLessThan(0.2);
    const report = await readFile(join(out, 'report.md'), 'utf8');
    expect(report).toContain('| tiny-harmful | 37 |');
    const svg = await readFile(join(out, 'charts', 'tiny-harmful-scores.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
  });

  it('eval --updateManifest records the metrics in the manifest', async () => {
    await cli('eval', '--model', join(dir, 'model'), '--data', data, '--reference', 'tiny-benign', '--update-manifest', '--quiet');
    const manifest = JSON.parse(await readFile(join(dir, 'model', 'manifest.json'), 'utf8'));
    expect(manifest.metrics.eval.sources['tiny-harmful'].rows).toBe(37);
  });

  it("eval --update-manifest keeps the chart data, compact, in a shape the worker's report reads", async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'model', 'manifest.json'), 'utf8'));
    const recorded = manifest.metrics.eval.sources['tiny-harmful'];
    expect(recorded.curve.length).toBeGreaterThan(1);
    expect(recorded.curve.length).toBeLessThanOrEqual(MANIFEST_CURVE_POINTS);
    expect(recorded.curve.every((point: unknown) => Array.isArray(point) && point.length === 3)).toBe(true);
    expect(recorded.histogram.harmful.reduce((a: number, b: number) => a + b, 0)).toBe(recorded.harmful);
    const read = evalMetricsOf(manifest.metrics).eval!.sources['tiny-harmful']!;
    expect(read.curve[0]).toEqual({ threshold: recorded.curve[0][0], precision: recorded.curve[0][1], recall: recorded.curve[0][2] });
  });

  it('eval writes report.html, the report page the worker serves, with its charts inline', async () => {
    const html = await readFile(join(dir, 'eval', 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('data-source="tiny-harmful"');
    expect(html.match(/data-chart="pr"/g)?.length).toBeGreaterThan(0);
  });

  it('compare finds nothing moved between a model and itself, and counts the decisions a stricter threshold changes', async () => {
    const model = join(dir, 'model');
    const same = await cli('compare', '--model', model, '--against', model, '--data', data, '--quiet');
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/\n\d+ texts of \d+ sources: max \|Δ\| 0\.0e\+0, flagged (\d+) \/ \1, decisions that differ 0\n$/);
    const strict = join(dir, 'model-strict');
    await cp(model, strict, { recursive: true });
    const manifest = JSON.parse(await readFile(join(strict, 'manifest.json'), 'utf8'));
    await writeFile(join(strict, 'manifest.json'), JSON.stringify({ ...manifest, threshold: 0.999 }));
    const stricter = await cli('compare', '--model', model, '--against', strict, '--data', data, '--sources', 'tiny-harmful', '--quiet');
    expect(stricter.code).toBe(0);
    const [, texts, flagged, flaggedStrict, differ] =
      /(\d+) texts of 1 sources: max \|Δ\| 0\.0e\+0, flagged (\d+) \/ (\d+), decisions that differ (\d+)/
        .exec(stricter.stdout)!
        .map(Number);
    expect(texts).toBe(37);
    expect(flagged).toBeGreaterThan(flaggedStrict!);
    expect(differ).toBeGreaterThanOrEqual(flagged! - flaggedStrict!);
  });

  it('compare names a source it finds no texts of, in one line', async () => {
    const result = await cli(
      'compare',
      '--model',
      join(dir, 'model'),
      '--against',
      join(dir, 'model'),
      '--data',
      data,
      '--sources',
      'tiny-harmful,nosuch',
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('no texts of nosuch in ');
  });

  it('compare refuses two models with other labels in one line', async () => {
    const other = join(dir, 'model-other-labels');
    await cp(join(dir, 'model'), other, { recursive: true });
    const manifest = JSON.parse(await readFile(join(other, 'manifest.json'), 'utf8'));
    await writeFile(join(other, 'manifest.json'), JSON.stringify({ ...manifest, labels: [...manifest.labels.slice(0, -1), 'other'] }));
    const result = await cli('compare', '--model', join(dir, 'model'), '--against', other, '--data', data);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('have other labels');
  });
});

describe('CLI errors', () => {
  it('an out-of-range flag is one line on stderr and exit code 1', async () => {
    const result = await cli('distill', '--epochs', '0', '--quiet');
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('--epochs');
  });

  it('a missing checkpoint folder is a clear error, not a stack', async () => {
    const result = await cli('export', '--checkpoint', '/nonexistent', '--out', '/tmp/x');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: \/nonexistent is not a checkpoint folder/);
  });

  it('an unknown command names the commands there are', async () => {
    const result = await cli('distil');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown command 'distil'");
  });

  it('a bad recipe value names the key', async () => {
    const { dir } = await writeTinyData();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ train: { dim: -1 } }));
    const result = await cli('distill', '--config', join(dir, 'bad.json'), '--quiet');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('train.dim');
  });
});
