/**
 * The pipeline's import graph as pipeline/README.md draws it: every import points down a layer
 * (or stays in its own folder), so there is no circle; the pipeline takes from src/ only the
 * modules it shares with the worker; src/ never imports the pipeline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Top to bottom; a room is a folder (`train/`) or a file of pipeline/. An import may only point to a lower layer. */
const LAYERS = [
  ['main.ts'],
  ['cli.ts'],
  ['commands/'],
  ['run/', 'flag-command.ts'],
  ['harmaug/', 'onnx/', 'dev/', 'feedback/'],
  ['train/', 'run-folder.ts'],
  ['llm/', 'eval/', 'registry/', 'keys/'],
  ['data/', 'args.ts', 'model-folder.ts', 'wrangler/'],
  ['rng.ts', 'progress.ts', 'errors.ts', 'sha256.ts'],
];

/** What the pipeline may import from src/: the featurizer, labels, manifest, model input, decision thresholds and teacher it shares with the worker, and what a CLI legitimately shares. */
const SHARED_FROM_SRC = [
  'src/guard/featurize.ts',
  'src/guard/labels.ts',
  'src/guard/manifest.ts',
  'src/guard/model-input.ts',
  'src/guard/policy.ts',
  'src/auth/key-record.ts',
  'src/report/charts.ts',
  'src/report/eval-metrics.ts',
  'src/report/model-report.ts',
  'src/teacher/hazards.ts',
  'src/teacher/llama-guard.ts',
  'src/teacher/workers-ai.ts',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The repository paths a file imports (static and literal dynamic imports, relative ones only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const roomOf = (file: string) => {
  const inside = relative('pipeline', file);
  return inside.includes('/') ? `${inside.split('/')[0]}/` : inside;
};
const layerOf = (room: string) => LAYERS.findIndex((layer) => layer.includes(room));

describe('the pipeline import graph', () => {
  const files = sourceFiles('pipeline');
  const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

  it('puts every room of pipeline/ on a layer', () => {
    expect(files.map(roomOf).filter((room) => layerOf(room) < 0)).toEqual([]);
  });

  it('has no import that points up a layer or across to another room of its layer', () => {
    const wrong = edges
      .filter(({ to }) => to.startsWith('pipeline/'))
      .filter(({ from, to }) => roomOf(from) !== roomOf(to) && layerOf(roomOf(to)) <= layerOf(roomOf(from)))
      .map(({ from, to }) => `${from} -> ${to}`);
    expect(wrong).toEqual([]);
  });

  it('has no circle of files, inside a room either', () => {
    const next = new Map(files.map((f) => [f, edges.filter(({ from, to }) => from === f && files.includes(to)).map(({ to }) => to)]));
    const done = new Set<string>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (path.includes(file)) return void circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      if (done.has(file)) return;
      for (const to of next.get(file) ?? []) visit(to, [...path, file]);
      done.add(file);
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('takes from src/ only the shared modules', () => {
    const fromSrc = new Set(edges.filter(({ to }) => to.startsWith('src/')).map(({ to }) => to));
    expect([...fromSrc].filter((to) => !SHARED_FROM_SRC.includes(to))).toEqual([]);
  });

  it('is never imported by src/', () => {
    const wrong = sourceFiles('src').flatMap((from) =>
      importsOf(from)
        .filter((to) => to.startsWith('pipeline/'))
        .map((to) => `${from} -> ${to}`),
    );
    expect(wrong).toEqual([]);
  });
});
