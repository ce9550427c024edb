/**
 * The coalescer on its own, with a stand-in for ORT whose "scores" name the window they came
 * from: calls that arrive together share runs, each caller gets its own rows back, the id budget
 * splits a burst, calls arriving during a burst go together into the next, and a failed shared
 * run fails only the caller whose window broke it. Real ORT runs: runtime.test.ts and api.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createCoalescer, type RunOutput } from '../../src/guard/coalesce.ts';
import type { FeatureWindow } from '../../src/guard/featurize.ts';
import { runsOf } from '../../src/guard/model-input.ts';

/** A window whose ids are `[tag, tag, ...]` (`ids` of them), optionally with a response. */
const win = (tag: number, ids = 1, response: number | null = null): FeatureWindow => ({
  prompt: new Int32Array(ids).fill(tag),
  response: response === null ? null : Int32Array.of(response),
});

/** Two scores per window: its tag and its response's (-1 without), so a row names its window. */
function fakeOrt(options: { poison?: number; budget?: number; hold?: boolean } = {}) {
  const batches: FeatureWindow[][] = [];
  const pending: (() => void)[] = [];
  const run = async (batch: readonly FeatureWindow[]): Promise<RunOutput> => {
    batches.push([...batch]);
    if (options.hold) await new Promise<void>((resolve) => pending.push(resolve));
    if (batch.some((w) => w.prompt[0] === options.poison)) throw new Error(`run with poison ${options.poison}`);
    const scores = new Float32Array(batch.length * 2);
    batch.forEach((w, i) => {
      scores[2 * i] = w.prompt[0]!;
      scores[2 * i + 1] = w.response?.[0] ?? -1;
    });
    return { scores, width: 2 };
  };
  const split = (batch: readonly FeatureWindow[]) => runsOf('ragged', batch, options.budget);
  return { coalescer: createCoalescer({ run, split }), batches, release: () => pending.splice(0).forEach((resolve) => resolve()) };
}

const tags = (scores: Float32Array) => Array.from(scores);
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the coalescer', () => {
  it('packs calls made together into one run', async () => {
    const { coalescer, batches } = fakeOrt();
    const results = await Promise.all([coalescer.score([win(1)]), coalescer.score([win(2), win(3)]), coalescer.score([win(4)])]);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((w) => w.prompt[0])).toEqual([1, 2, 3, 4]);
    expect(results.map((r) => [r.runs, r.callers])).toEqual([
      [1, 3],
      [1, 3],
      [1, 3],
    ]);
  });

  it('gives each caller exactly the rows of its own windows, in order', async () => {
    const { coalescer } = fakeOrt();
    const [a, b, c] = await Promise.all([
      coalescer.score([win(10, 3, 7), win(11)]),
      coalescer.score([win(20)]),
      coalescer.score([win(30, 2), win(31, 1, 9), win(32)]),
    ]);
    expect(tags(a!.scores)).toEqual([10, 7, 11, -1]);
    expect(tags(b!.scores)).toEqual([20, -1]);
    expect(tags(c!.scores)).toEqual([30, -1, 31, 9, 32, -1]);
    expect(a!.width).toBe(2);
  });

  it('runs a call alone when nothing else arrives before the next macrotask', async () => {
    const { coalescer, batches } = fakeOrt();
    const first = await coalescer.score([win(1)]);
    const second = await coalescer.score([win(2)]);
    expect(batches.map((b) => b.length)).toEqual([1, 1]);
    expect([first.callers, second.callers]).toEqual([1, 1]);
  });

  it('splits a burst where a run would exceed the id budget, one caller over several runs if need be', async () => {
    const { coalescer, batches } = fakeOrt({ budget: 100 });
    const [a, b, c] = await Promise.all([
      coalescer.score([win(1, 60)]),
      coalescer.score([win(3, 30), win(4, 70)]),
      coalescer.score([win(5, 10)]),
    ]);
    expect(batches.map((batch) => batch.reduce((ids, w) => ids + w.prompt.length, 0))).toEqual([90, 80]);
    expect(tags(a!.scores)).toEqual([1, -1]);
    expect(tags(b!.scores)).toEqual([3, -1, 4, -1]);
    expect(tags(c!.scores)).toEqual([5, -1]);
    expect(b!.runs).toBe(2);
  });

  it('runs a window over the budget alone, never refusing it', async () => {
    const { coalescer, batches } = fakeOrt({ budget: 100 });
    const [big, small] = await Promise.all([coalescer.score([win(1, 500)]), coalescer.score([win(2, 10)])]);
    expect(tags(big!.scores)).toEqual([1, -1]);
    expect(tags(small!.scores)).toEqual([2, -1]);
    expect(batches.map((b) => b.map((w) => w.prompt[0]))).toEqual([[1], [2]]);
  });

  it('sends the calls that arrive while a burst runs together into the next burst, after it', async () => {
    const ort = fakeOrt({ hold: true });
    const first = ort.coalescer.score([win(1)]);
    await tick();
    expect(ort.batches).toHaveLength(1);
    const later = [ort.coalescer.score([win(2)]), ort.coalescer.score([win(3)])];
    await tick(5);
    // the first burst still runs: the others wait for it
    expect(ort.batches).toHaveLength(1);
    ort.release();
    expect(tags((await first).scores)).toEqual([1, -1]);
    await tick(5);
    expect(ort.batches.map((b) => b.map((w) => w.prompt[0]))).toEqual([[1], [2, 3]]);
    ort.release();
    const [two, three] = await Promise.all(later);
    expect([two!.callers, three!.callers]).toEqual([2, 2]);
  });

  it('waits waitMs for others to join the first call of a burst', async () => {
    const { coalescer, batches } = fakeOrt();
    const first = coalescer.score([win(1)], { waitMs: 30 });
    await tick(5);
    const second = coalescer.score([win(2)], { waitMs: 30 });
    await Promise.all([first, second]);
    expect(batches.map((b) => b.map((w) => w.prompt[0]))).toEqual([[1, 2]]);
  });

  it('fails only the caller whose window broke a shared run, scoring the others alone again', async () => {
    const { coalescer, batches } = fakeOrt({ poison: 13 });
    const [good, bad, alsoGood] = await Promise.allSettled([
      coalescer.score([win(1)]),
      coalescer.score([win(13), win(2)]),
      coalescer.score([win(3)]),
    ]);
    expect(good.status === 'fulfilled' && tags(good.value.scores)).toEqual([1, -1]);
    expect(alsoGood.status === 'fulfilled' && tags(alsoGood.value.scores)).toEqual([3, -1]);
    expect(bad.status === 'rejected' && String(bad.reason)).toMatch(/poison 13/);
    expect(batches.map((b) => b.map((w) => w.prompt[0]))).toEqual([[1, 13, 2, 3], [1], [13, 2], [3]]);
  });

  it('starts the waiting calls at once on flush, ahead of whatever is queued after it', async () => {
    const order: string[] = [];
    const coalescer = createCoalescer({
      run: async (batch) => {
        order.push(`run ${batch.length}`);
        return { scores: new Float32Array(batch.length), width: 1 };
      },
      split: (batch) => [batch.map((_, i) => i)],
    });
    const scored = coalescer.score([win(1), win(2)], { waitMs: 1_000 });
    coalescer.flush();
    order.push('after flush');
    await scored;
    expect(order).toEqual(['run 2', 'after flush']);
  });

  it('answers an empty batch without a run', async () => {
    const { coalescer, batches } = fakeOrt();
    expect(await coalescer.score([])).toMatchObject({ runs: 0, callers: 0 });
    expect(batches).toHaveLength(0);
  });
});
