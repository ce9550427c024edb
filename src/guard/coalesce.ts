/**
 * Scoring calls that arrive together share ORT runs. An ORT run has a fixed cost besides its
 * work per id (for one short text, most of what it costs), and under load many requests of an
 * isolate score at about the same time. So a call does not run at once: it waits for the next
 * macrotask (or `waitMs`), by when every request the isolate had ready has had its turn, and all
 * calls waiting by then go into one burst of runs, split only where a run would exceed the
 * per-run feature-id budget; each caller gets back exactly the rows of its own windows. Calls
 * that arrive while a burst is running wait for it to end and then go together into the next, so
 * a call waits behind one burst at most.
 *
 * Each call waits on a timer of its own request and takes its result itself, never resolved by
 * the request whose timer started the burst: workerd cancels a request that waits only on work
 * another request will finish (it counts as hung). In practice a burst ends within the macrotask
 * that starts it (ORT's WASM runs synchronously), so the calls of a burst find their results
 * when their timers, due at the same time, fire just after.
 *
 * Knows nothing of ORT: the runtime (runtime.ts) hands it the function that runs one batch and
 * the one that splits a batch within the budget.
 */
import type { FeatureWindow } from './featurize.ts';

/** What one run gives: `width` scores per window, row-major. */
export interface RunOutput {
  scores: Float32Array;
  width: number;
}

/** One caller's scores, and how they were made. */
export interface CoalescedOutput extends RunOutput {
  /** ORT runs that scored this caller's windows. */
  runs: number;
  /** Callers whose windows went into the same burst of runs, this one included. */
  callers: number;
}

export interface CoalescerOptions {
  /** Runs one batch (at most the per-run budget): one ORT run. */
  run(batch: readonly FeatureWindow[]): Promise<RunOutput>;
  /** A batch split into runs within the per-run budget: the rows of each run. */
  split(batch: readonly FeatureWindow[]): number[][];
}

/** Per-call settings of `score()`. */
export interface ScoreOptions {
  /**
   * Milliseconds a call that finds nothing waiting gives others to join it; default 0: until the
   * next macrotask. Calls joining it do not extend it.
   */
  waitMs?: number;
}

export interface Coalescer {
  /**
   * Scores a batch of windows in the next burst of runs, shared with the calls that join it.
   * Rejects when a run that holds any of its windows fails: a run shared with others that fails
   * is run again for each caller alone first, so another caller's windows never fail this one's.
   */
  score(batch: readonly FeatureWindow[], options?: ScoreOptions): Promise<CoalescedOutput>;
  /**
   * Starts the runs of every waiting call now, queued behind any run in progress: before a
   * session is released, so that calls already made finish on it.
   */
  flush(): void;
}

interface Call {
  batch: readonly FeatureWindow[];
  state: 'waiting' | 'running' | 'done';
  result: { ok: true; output: CoalescedOutput } | { ok: false; error: unknown } | null;
}

type Settled = { ok: true; output: RunOutput } | { ok: false; error: unknown };

const settle = (promise: Promise<RunOutput>): Promise<Settled> =>
  promise.then(
    (output) => ({ ok: true, output }),
    (error: unknown) => ({ ok: false, error }),
  );

/** How often a call looks again for its result while the burst that holds it runs on. */
const POLL_MS = 1;

// The next macrotask: Node's setImmediate runs after the I/O that is ready, as workerd's 0 ms
// timers do (Node's are at least 1 ms).
const { setImmediate, clearImmediate } = globalThis as {
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
};

/** Calls `callback` after `ms` (0: on the next macrotask); returns what cancels it. */
function later(ms: number, callback: () => void): () => void {
  if (ms <= 0 && setImmediate && clearImmediate) {
    const handle = setImmediate(callback);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(callback, Math.max(0, ms));
  return () => clearTimeout(handle);
}

/** Where each window of a batch split into `runs` is scored: its run, and its row in that run. */
function placement(runs: number[][], windows: number): { where: Int32Array; at: Int32Array } {
  const where = new Int32Array(windows);
  const at = new Int32Array(windows);
  runs.forEach((rows, run) =>
    rows.forEach((r, k) => {
      where[r] = run;
      at[r] = k;
    }),
  );
  return { where, at };
}

/** A call's rows of its runs' outputs, in its windows' order (its windows start at `first`). */
function gather(call: Call, first: number, where: Int32Array, at: Int32Array, outputs: (RunOutput | null)[]): RunOutput & { runs: number } {
  const n = call.batch.length;
  const width = outputs[where[first]!]!.width;
  const scores = new Float32Array(n * width);
  const used = new Set<number>();
  for (let k = 0; k < n; k++) {
    const run = where[first + k]!;
    used.add(run);
    const row = at[first + k]! * width;
    scores.set(outputs[run]!.scores.subarray(row, row + width), k * width);
  }
  return { scores, width, runs: used.size };
}

/**
 * A coalescer over one model session's runs.
 * @example
 * const coalescer = createCoalescer({ run: (batch) => runOnce(batch), split: (batch) => runsOf('segmented', batch) });
 * const { scores, width } = await coalescer.score(featurize('hi', null, config));
 */
export function createCoalescer(options: CoalescerOptions): Coalescer {
  let waiting: Call[] = [];
  /** When the waiting calls' burst is due (epoch ms): set by the first of them. */
  let due = 0;
  /** The burst in progress, if any. */
  let running: Promise<void> | null = null;

  const runAll = (batch: readonly FeatureWindow[], runs: number[][]) => runs.map((rows) => settle(options.run(rows.map((r) => batch[r]!))));

  /** Scores the calls together and leaves each its result; never rejects. */
  async function burst(calls: Call[]): Promise<void> {
    const windows = calls.flatMap((call) => call.batch);
    const runs = options.split(windows);
    // every run is queued at once, so a flush before a release puts them all ahead of it
    const settled = runAll(windows, runs);
    const { where, at } = placement(runs, windows.length);
    const results = await Promise.all(settled);
    const outputs = results.map((result) => (result.ok ? result.output : null));
    const retries: Promise<void>[] = [];
    let first = 0;
    for (const call of calls) {
      const from = first;
      first += call.batch.length;
      let failed: Settled | undefined;
      for (let r = from; r < first && !failed; r++) if (!results[where[r]!]!.ok) failed = results[where[r]!]!;
      if (!failed) call.result = { ok: true, output: { ...gather(call, from, where, at, outputs), callers: calls.length } };
      else if (calls.length === 1 && !failed.ok) call.result = { ok: false, error: failed.error };
      // a call whose shared run failed is scored again without any other's
      else retries.push(burst([call]));
    }
    await Promise.all(retries);
  }

  function flush(): Promise<void> | null {
    if (waiting.length === 0) return null;
    const calls = waiting;
    waiting = [];
    for (const call of calls) call.state = 'running';
    const done: Promise<void> = burst(calls)
      .catch((error: unknown) => {
        for (const call of calls) call.result ??= { ok: false, error };
      })
      .finally(() => {
        for (const call of calls) call.state = 'done';
        if (running === done) running = null;
      });
    running = done;
    return done;
  }

  return {
    score(batch, { waitMs = 0 } = {}) {
      if (batch.length === 0) return Promise.resolve({ scores: new Float32Array(0), width: 0, runs: 0, callers: 0 });
      const call: Call = { batch, state: 'waiting', result: null };
      if (waiting.length === 0) due = Date.now() + waitMs;
      waiting.push(call);
      return new Promise<CoalescedOutput>((resolve, reject) => {
        let settled = false;
        let cancel = (): void => {};
        const look = () => {
          if (settled) return;
          cancel();
          if (call.result) {
            settled = true;
            if (call.result.ok) resolve(call.result.output);
            else reject(call.result.error);
            return;
          }
          // the first call to look once no burst runs starts the next, with every call waiting;
          // it takes its result when the burst ends, the others when their timers fire
          if (call.state === 'waiting' && running === null) flush()?.then(look);
          cancel = later(POLL_MS, look);
        };
        cancel = later(due - Date.now(), look);
      });
    },
    flush() {
      void flush();
    },
  };
}
