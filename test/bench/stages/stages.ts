#!/usr/bin/env node
/**
 * The worker's scoring stages timed in Node, part of `npm run bench` (or alone:
 * `npm run bench:stages`). workerd's clock stands still while code runs, so a
 * classification inside the worker reads as 0 or 1 ms; here the same code (src/guard/featurize.ts,
 * src/guard/runtime.ts with its coalescer) and the same onnxruntime-web WASM, single-threaded, run
 * under Node's clock.
 *
 * For the 500-character bench prompt, per text: featurizing; its windows scored alone as the
 * worker scores a request's (split within the per-run id budget; ORT run, tensors, coalescer);
 * featurize + run alone; calls of 8 and of 64 texts; featurize + run in a call of 64; 64 calls at
 * once, as concurrent requests make them (coalesced into shared runs); and a run of one id, the
 * fixed cost of a run. Each figure is the median of `--rounds` rounds (min-max).
 *
 * Models: `--model <dir>` (default model/) as shipped, and models of the same shape (random
 * weights: time depends on shapes only) with the default featurizer: int8 columns in the contract
 * the exporter writes (`short-segments`, from 2.0.4) and in 2.0.2/2.0.3's (`segmented`), and int8
 * rows in `segmented`; `--graphs` adds that shape as the exporter's other graphs (2.0.0/2.0.1's
 * `ragged` contract, float32 table, padded contract), to see what the graph costs. The texts of a
 * call are featurized one by one, so rows share ids only within a text. Each model first runs for
 * WARM_UP_MS untimed: V8 runs new WASM code unoptimised until it tiers up, in workerd as here.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeModel } from '../../../pipeline/onnx/onnx-model.ts';
import { studentGraph, type Quantization } from '../../../pipeline/onnx/student-graph.ts';
import { createRng } from '../../../pipeline/rng.ts';
import { inputSize, type StudentWeights } from '../../../pipeline/train/student.ts';
import { DEFAULT_FEATURIZER, featurize, type FeatureWindow, type FeaturizerConfig } from '../../../src/guard/featurize.ts';
import { ManifestSchema } from '../../../src/guard/manifest.ts';
import { feeds, type InputContract } from '../../../src/guard/model-input.ts';
import { BENCH_PROMPT } from '../prompt.ts';
import { nodeRuntime } from './node-runtime.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'model' },
    rounds: { type: 'string', default: '7' },
    graphs: { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.min(Math.max(Math.trunc(Number(values.rounds)) || 7, 3), 51);
/** Wall time of one round of a measure. */
const ROUND_MS = 150;
/** Untimed runs of each model first, until V8 has optimised ORT's WASM for its kernels. */
const WARM_UP_MS = 2_000;

/** Milliseconds per text: the median round, and the fastest and slowest. */
interface Figure {
  median: number;
  min: number;
  max: number;
}

interface Variant {
  name: string;
  bytes: Uint8Array;
  featurizer: FeaturizerConfig;
}

/** Times `op` (which handles `texts` texts) in ROUNDS rounds of about ROUND_MS each. */
async function measure(op: () => unknown, texts: number): Promise<Figure> {
  let n = 0;
  const started = performance.now();
  // calibration, which is also the warm-up
  while (performance.now() - started < ROUND_MS / 2 || n < 3) {
    await op();
    n++;
  }
  const perRound = Math.max(3, Math.round((n * ROUND_MS) / (performance.now() - started)));
  const perText: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) await op();
    perText.push((performance.now() - t) / perRound / texts);
  }
  perText.sort((a, b) => a - b);
  return { median: perText[Math.floor(perText.length / 2)]!, min: perText[0]!, max: perText.at(-1)! };
}

/** Weights of a given shape; their values do not change what a run costs. */
function randomWeights(shape: Pick<StudentWeights, 'buckets' | 'dim' | 'hidden' | 'outputs' | 'pooling'>): StudentWeights {
  const rng = createRng(18);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng() - 0.5) * scale);
  const embedding = fill(shape.buckets * shape.dim, 0.2);
  embedding.fill(0, 0, shape.dim);
  return {
    ...shape,
    embedding,
    w1: fill(inputSize(shape) * shape.hidden, 0.2),
    b1: fill(shape.hidden, 0.1),
    w2: fill(shape.hidden * shape.outputs, 0.2),
    b2: fill(shape.outputs, 0.1),
  };
}

async function variants(): Promise<Variant[]> {
  const dir = resolve(ROOT, values.model);
  const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  const shipped: Variant = {
    name: `${values.model} (${manifest.version}, ${manifest.model.quantization})`,
    bytes: new Uint8Array(await readFile(join(dir, 'model.onnx'))),
    featurizer: manifest.featurizer,
  };
  const { dim, hidden, pooling } = manifest.model;
  const weights = randomWeights({ buckets: manifest.featurizer.buckets, dim, hidden, outputs: manifest.labels.length, pooling });
  const shaped = (quantization: Quantization, contract: InputContract): Variant => ({
    name: `2.x shape (${contract}, ${quantization})`,
    bytes: encodeModel(studentGraph(weights, quantization, contract)),
    featurizer: DEFAULT_FEATURIZER,
  });
  const others = values.graphs
    ? [shaped('int8-rows', 'ragged'), shaped('float32', 'ragged'), shaped('int8-rows', 'padded'), shaped('float32', 'padded')]
    : [];
  return [
    shipped,
    shaped('int8-columns', 'short-segments'),
    shaped('int8-columns', 'segmented'),
    shaped('int8-rows', 'segmented'),
    ...others,
  ];
}

interface StageReport {
  prompt: { characters: number };
  models: { name: string; contract: string; ids: number; gathered: number; rows: number; figures: Record<string, Figure> }[];
}

async function main(): Promise<void> {
  const { createSession } = await nodeRuntime();
  const report: StageReport = { prompt: { characters: BENCH_PROMPT.length }, models: [] };
  for (const variant of await variants()) {
    const session = await createSession(variant.bytes);
    const config = variant.featurizer;
    const text = () => featurize(BENCH_PROMPT, null, config);
    const windows = text();
    // as the worker scores a request's windows: one call, which the runtime splits into runs
    const score = (batch: FeatureWindow[]) => session.run(batch);
    // texts featurized one by one: the rows of a text share its ids, the rows of two texts never do
    const many = (n: number) => Array.from({ length: n }, text).flat();
    const batch8 = many(8);
    const batch64 = many(64);
    const tiny = [{ prompt: Int32Array.of(1), response: null }];
    for (const started = performance.now(); performance.now() - started < WARM_UP_MS;)
      await Promise.all([score(batch64), score(windows), score(tiny)]);
    const figures: Record<string, Figure> = {
      featurize: await measure(text, 1),
      'run alone': await measure(() => score(windows), 1),
      'featurize + run alone': await measure(() => score(text()), 1),
      'run, call of 8 texts': await measure(() => score(batch8), 8),
      'run, call of 64 texts': await measure(() => score(batch64), 64),
      'featurize + run, call of 64 texts': await measure(() => score(Array.from({ length: 64 }, text).flat()), 64),
      'featurize + run, 64 concurrent calls': await measure(() => Promise.all(Array.from({ length: 64 }, () => score(text()))), 64),
      'run of one id (fixed cost of a run)': await measure(() => score(tiny), 1),
    };
    report.models.push({
      name: variant.name,
      contract: session.contract,
      ids: windows.reduce((n, w) => n + w.prompt.length, 0),
      gathered: gathered(feeds(session.contract, windows)),
      rows: windows.length,
      figures,
    });
    await session.release();
  }
  console.log(formatStages(report));
}

/** The ids a run gathers: the `segmented` contract's one tensor of them, or the prompt's. */
const gathered = (tensors: ReturnType<typeof feeds>) => (tensors.ids ?? tensors.prompt_ids)!.dims[0]!;

const ms = (f: Figure) => `${f.median.toFixed(3)} (${f.min.toFixed(3)}-${f.max.toFixed(3)})`;

/** The report as a table: a row per stage, a column per model, ms per text. */
function formatStages(report: StageReport): string {
  const stages = Object.keys(report.models[0]?.figures ?? {});
  const header = ['ms per text, median (min-max)', ...report.models.map((m) => m.name)];
  const rows = [
    ['ids (rows) of the prompt', ...report.models.map((m) => `${m.ids} (${m.rows})`)],
    ['ids a run gathers for it', ...report.models.map((m) => `${m.gathered}`)],
    ...stages.map((stage) => [stage, ...report.models.map((m) => ms(m.figures[stage]!))]),
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`;
  return [
    `\nScoring stages in Node (same onnxruntime-web WASM, one thread), ${report.prompt.characters}-character prompt\n`,
    line(header),
    ...rows.map(line),
    '',
  ].join('\n');
}

main().catch((error: Error) => {
  console.error(`bench stages: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
