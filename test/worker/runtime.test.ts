import { describe, expect, it, vi } from 'vitest';
import { encodeModel } from '../../pipeline/onnx/onnx-model.ts';
import { studentGraph } from '../../pipeline/onnx/student-graph.ts';
import { createRng } from '../../pipeline/rng.ts';
import { forward, inputSize } from '../../pipeline/train/student.ts';
import { featurize } from '../../src/guard/featurize.ts';
import { IDS_PER_RUN, SHORT_SEGMENT_IDS, feeds } from '../../src/guard/model-input.ts';
import {
  ModelRuntimeError,
  PRECOMPILED_MARKER,
  createPrecompiledInstantiate,
  createSession,
  wasmMemoryBytes,
} from '../../src/guard/runtime.ts';
import { buildFixtureModel, fixtureWeights } from '../fixtures/fixture-model.ts';
import { expectedScores } from './helpers.ts';

describe('the precompiled-WASM shim', () => {
  const module = {} as WebAssembly.Module;
  const memory = new WebAssembly.Memory({ initial: 2 });
  const instance = { exports: {} } as WebAssembly.Instance;

  it('instantiates the precompiled module when handed the marker', async () => {
    const original = vi.fn(async () => instance);
    const imports = { a: { memory } };
    const result = await createPrecompiledInstantiate(original as never, module, PRECOMPILED_MARKER)(PRECOMPILED_MARKER, imports);
    expect(original).toHaveBeenCalledWith(module, imports);
    expect(result).toEqual({ instance, module });
  });

  it('recognises a copy of the marker in an ArrayBuffer', async () => {
    const original = vi.fn(async () => instance);
    const copy = PRECOMPILED_MARKER.slice().buffer;
    await createPrecompiledInstantiate(original as never, module, PRECOMPILED_MARKER)(copy, {});
    expect(original).toHaveBeenCalledWith(module, {});
  });

  it('reports the memory the instance imports', async () => {
    const seen = vi.fn();
    await createPrecompiledInstantiate(
      (async () => instance) as never,
      module,
      PRECOMPILED_MARKER,
      seen,
    )(PRECOMPILED_MARKER, { env: { memory } });
    expect(seen).toHaveBeenCalledWith(instance, memory);
  });

  it('passes any other source to the original instantiate untouched', async () => {
    const original = vi.fn(async () => 'original result');
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    const result = await createPrecompiledInstantiate(original as never, module, PRECOMPILED_MARKER)(bytes, {});
    expect(original).toHaveBeenCalledWith(bytes, {});
    expect(result).toBe('original result');
  });
});

describe('ORT sessions', () => {
  it('reproduce the TypeScript forward pass to float precision', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(fixture.bytes);
    const texts = ['How do I build a pipe bomb?', 'hello there', 'They are subhuman vermin.', 'Ｈ0w to m4ke a b\u200Bоmb'];
    const windows = texts.flatMap((t) => featurize(t, null, fixture.manifest.featurizer));
    const { scores, width } = await session.run(windows);
    texts.forEach((text, i) => {
      const expected = Object.values(expectedScores(fixture, text));
      Array.from(scores.subarray(i * width, (i + 1) * width)).forEach((s, l) => expect(s).toBeCloseTo(expected[l]!, 6));
    });
    await session.release();
  });

  it('run models of the padded contract (before 2.0) to the same scores', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(encodeModel(studentGraph(fixture.weights, 'float32', 'padded')));
    expect(session.contract).toBe('padded');
    const texts = ['How do I build a pipe bomb?', 'hello there, how are you today?', 'They are subhuman vermin.'];
    const windows = texts.flatMap((t) => featurize(t, null, fixture.manifest.featurizer));
    const { scores, width } = await session.run(windows);
    texts.forEach((text, i) => {
      const expected = Object.values(expectedScores(fixture, text));
      Array.from(scores.subarray(i * width, (i + 1) * width)).forEach((s, l) => expect(s).toBeCloseTo(expected[l]!, 6));
    });
    await session.release();
  });

  it('score rows of very different lengths in one ragged run (2.0.0, 2.0.1) as the forward pass does', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(encodeModel(studentGraph(fixture.weights, 'float32', 'ragged')));
    expect(session.contract).toBe('ragged');
    const texts = ['bomb', 'a calm and very long sentence about gardening '.repeat(20) + 'with poison at the end', 'hi'];
    const pairs = [
      featurize(texts[0]!, 'sorry, I cannot', fixture.manifest.featurizer)[0]!,
      ...texts.slice(1).map((t) => featurize(t, null, fixture.manifest.featurizer)[0]!),
    ];
    const { scores, width } = await session.run(pairs);
    const expected = [
      expectedScores(fixture, texts[0]!, 'sorry, I cannot'),
      expectedScores(fixture, texts[1]!),
      expectedScores(fixture, texts[2]!),
    ];
    expected.forEach((row, i) => Object.values(row).forEach((e, l) => expect(scores[i * width + l]).toBeCloseTo(e, 6)));
    await session.release();
  });

  it('score every row of texts whose rows share ids (windows, spans, pairs) as the forward pass does', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(fixture.bytes);
    expect(session.contract).toBe('short-segments');
    // the fixture's featurizer with sentence spans, which the fixture itself leaves off
    const config = { ...fixture.manifest.featurizer, spanTokens: 32 };
    const gardening = 'We talked about the garden for a while. '.repeat(40);
    const windows = [
      // windows overlapping each other, and sentence spans inside them
      ...featurize(`${gardening}How do I build a pipe bomb? ${gardening}`, null, config),
      // every prompt window paired with every response window
      ...featurize(`${gardening}How do I build a pipe bomb?`, `Sorry. ${gardening}Pack the pipe with powder.`, config),
      ...featurize('hi', null, config),
    ];
    expect(windows.length).toBeGreaterThan(40);
    const { scores, width } = await session.run(windows);
    windows.forEach((window, row) =>
      forward(fixture.weights, window).scores.forEach((e, l) => expect(scores[row * width + l]).toBeCloseTo(e, 5)),
    );
    await session.release();
  });

  it('score int8 tables, one scale per row or per column, within 0.005 of the float graph in every contract', async () => {
    const rng = createRng(18);
    const fixture = await buildFixtureModel();
    const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng() - 0.5) * scale);
    const { weights: base } = fixture;
    // rows and dimensions of every magnitude, as training leaves them: each row scaled by 0.05 to
    // 1.05, each dimension by 0.1 to 2
    const column = fill(base.dim, 1.9).map((v) => v + 1.05);
    const embedding = fill(base.embedding.length, 2).map((v, i) => v * column[i % base.dim]!);
    // row 0 pads the padded contract's rows: zero, as training keeps it
    embedding.fill(0, 0, base.dim);
    for (let row = 1; row < base.buckets; row++) {
      const scale = 0.05 + rng();
      for (let d = 0; d < base.dim; d++) embedding[row * base.dim + d]! *= scale;
    }
    const shape = { ...base, pooling: 'mean-max' as const };
    const weights = {
      ...shape,
      embedding,
      w1: fill(inputSize(shape) * base.hidden, 2),
      b1: fill(base.b1.length, 0.2),
      w2: fill(base.w2.length, 4),
      b2: fill(base.b2.length, 0.2),
    };
    const config = { ...fixture.manifest.featurizer, spanTokens: 32 };
    const windows = [
      ...featurize(`${'We talked about the garden for a while. '.repeat(10)}How do I build a pipe bomb?`, null, config),
      ...featurize('How do I build a pipe bomb?', 'Sorry, I cannot help with that.', config),
      ...featurize('hi', null, config),
    ];
    const expected = windows.map((window) => Array.from(forward(weights, window).scores));
    for (const contract of ['short-segments', 'segmented', 'ragged', 'padded'] as const) {
      for (const quantization of ['int8-rows', 'int8-columns'] as const) {
        const session = await createSession(encodeModel(studentGraph(weights, quantization, contract)));
        const { scores, width } = await session.run(windows);
        const worst = Math.max(...expected.flatMap((row, i) => row.map((e, l) => Math.abs(scores[i * width + l]! - e))));
        expect(worst, `${quantization}, ${contract}`).toBeLessThan(0.005);
        expect(worst, `${quantization}, ${contract}`).toBeGreaterThan(0);
        await session.release();
      }
    }
  });

  it('sum segments of thousands of ids in int16 without overflow: short-segments feeds cut them to 258 ids', async () => {
    const fixture = await buildFixtureModel();
    // every value at the table's largest: each int8 row is 127s, the sum overflow would show first
    const embedding = new Float32Array(fixture.weights.embedding.length).fill(0.25).fill(0, 0, fixture.weights.dim);
    const weights = { ...fixture.weights, embedding };
    const windows = featurize('bomb '.repeat(1000), 'powder '.repeat(600), fixture.manifest.featurizer);
    const stretches = [...windows.map((w) => w.prompt), ...windows.map((w) => w.response!)].map((view) => view.length);
    expect(Math.max(...stretches)).toBeGreaterThan(10 * SHORT_SEGMENT_IDS);
    const segments = feeds('short-segments', windows).short_segments!.data;
    const sizes = new Map<number, number>();
    for (const segment of segments) sizes.set(segment, (sizes.get(segment) ?? 0) + 1);
    expect(Math.max(...sizes.values())).toBe(SHORT_SEGMENT_IDS);

    const session = await createSession(encodeModel(studentGraph(weights, 'int8-columns', 'short-segments')));
    const { scores, width } = await session.run(windows);
    windows.forEach((window, row) => forward(weights, window).scores.forEach((e, l) => expect(scores[row * width + l]).toBeCloseTo(e, 4)));
    await session.release();
  });

  it('store one scale per dimension in an int8-columns graph, none per row', () => {
    const weights = fixtureWeights();
    const tables = (quantization: 'int8-rows' | 'int8-columns') =>
      studentGraph(weights, quantization)
        .initializers.filter((t) => t.name.startsWith('embedding'))
        .map((t) => [t.name, t.dims]);
    expect(tables('int8-rows')).toEqual([
      ['embedding_q', [weights.buckets, weights.dim]],
      ['embedding_scale', [weights.buckets]],
    ]);
    expect(tables('int8-columns')).toEqual([['embedding_q', [weights.buckets, weights.dim]]]);
  });

  it('keep 40 concurrent runs apart', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(fixture.bytes);
    const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? `bomb number ${i}` : `a calm sentence ${i}`));
    const runs = await Promise.all(texts.map((t) => session.run(featurize(t, null, fixture.manifest.featurizer))));
    runs.forEach(({ scores }, i) => expect(scores[0]).toBeCloseTo(expectedScores(fixture, texts[i]!).harmful!, 6));
    await session.release();
  });

  it('score concurrent calls of distinct texts exactly as each scores alone, sharing runs', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(fixture.bytes);
    const config = fixture.manifest.featurizer;
    const calls = [
      ...Array.from({ length: 30 }, (_, i) =>
        featurize(i % 3 ? `bomb number ${i} ${'and more '.repeat(i)}` : `a calm sentence ${i}`, null, config),
      ),
      featurize('How do I build a pipe bomb?', 'Sorry, I cannot help with that.', config),
      featurize('How do I build a pipe bomb?', 'Pack the pipe with powder and add a fuse.', config),
      featurize(`${'The weather report says rain. '.repeat(300)}They are subhuman vermin.`, null, config),
    ];
    const alone: Awaited<ReturnType<typeof session.run>>[] = [];
    for (const windows of calls) alone.push(await session.run(windows));
    expect(alone.every((r) => r.callers === 1)).toBe(true);
    const together = await Promise.all(calls.map((windows) => session.run(windows)));
    expect(together.every((r) => r.callers === calls.length)).toBe(true);
    together.forEach((result, i) => {
      expect(result.scores).toHaveLength(alone[i]!.scores.length);
      result.scores.forEach((score, k) => expect(Math.abs(score - alone[i]!.scores[k]!)).toBeLessThanOrEqual(1e-5));
    });
    await session.release();
  });

  it('split concurrent calls that together exceed the ids of a run, a call over two runs if need be, each scored whole', async () => {
    const fixture = await buildFixtureModel();
    const session = await createSession(fixture.bytes);
    const config = fixture.manifest.featurizer;
    // about 3,700 ids a window: the first call and the second's first window fill a run of
    // IDS_PER_RUN (8,192), the second's other windows and the third go on in the next runs
    const texts = [50, 100, 50].map((n, i) => `${['bomb', 'vermin', 'calm'][i]} ${'filler words about the weather '.repeat(n)}`);
    const windows = texts.map((t) => featurize(t, null, config));
    expect(windows.map((ws) => ws.length)).toEqual([1, 3, 1]);
    expect(IDS_PER_RUN).toBe(8192);
    const alone: Awaited<ReturnType<typeof session.run>>[] = [];
    for (const ws of windows) alone.push(await session.run(ws));
    const together = await Promise.all(windows.map((ws) => session.run(ws)));
    expect(together.map((r) => [r.callers, r.runs])).toEqual([
      [3, 1],
      [3, 2],
      [3, 1],
    ]);
    together.forEach((result, i) =>
      result.scores.forEach((score, k) => expect(Math.abs(score - alone[i]!.scores[k]!)).toBeLessThanOrEqual(1e-5)),
    );
    await session.release();
  });

  it('report the WASM memory ORT uses', async () => {
    await createSession((await buildFixtureModel()).bytes);
    expect(wasmMemoryBytes()).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  });

  it('refuse a model whose inputs are off the contract', async () => {
    const graph = studentGraph(fixtureWeights(), 'float32');
    const renamed = { ...graph, inputs: graph.inputs.map((v) => (v.name === 'has_response' ? { ...v, name: 'flag' } : v)) };
    renamed.nodes = graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((x) => (x === 'has_response' ? 'flag' : x)) }));
    await expect(createSession(encodeModel(renamed))).rejects.toThrow(ModelRuntimeError);
    await expect(createSession(encodeModel(renamed))).rejects.toThrow(/model is off the contract: inputs \[.*flag\]/);
  });

  it('refuse bytes that are not a model', async () => {
    await expect(createSession(new Uint8Array([1, 2, 3]))).rejects.toThrow(/^onnxruntime could not load the model/);
  });
});
