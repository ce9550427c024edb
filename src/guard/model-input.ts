/**
 * The student's input contract: the tensors a batch of feature windows becomes, their names, and
 * how a batch's rows of scores map back to the texts they came from. The worker's runtime and the
 * pipeline's scorer both feed models through this module, so the contract lives in one place.
 * Plain typed arrays only: turning them into onnxruntime tensors is the caller's (one ORT door);
 * the session settings and the ids a run packs are shared here too.
 *
 * Four contracts exist:
 * - `short-segments` (models from 2.0.4): `segmented` with no segment over SHORT_SEGMENT_IDS ids
 *   (`short_segments` in place of `segments`), so that a graph may sum a segment's int8 rows in
 *   int16 without overflow, half the bytes of float. The new input name makes a worker from
 *   before it refuse such a model instead of feeding it longer segments.
 * - `segmented` (models 2.0.2 and 2.0.3): a text's ids are gathered once, however many rows share
 *   them. The rows of one text are views of one array (its windows, sentence spans and, for a pair,
 *   every prompt row repeated for each response row), so their bounds cut that array into segments
 *   that rows either hold whole or not at all. The graph pools each segment once (sum and max) and each
 *   row from its segments ("parts"): a prompt's spans, which repeat its window's ids, cost a few
 *   parts instead of their ids again. Prompt and response sides share one tensor of ids (one
 *   gather, one pooling), so a run pays for each op once.
 * - `ragged` (models 2.0.0 and 2.0.1): every row's ids end to end in one flat tensor, with the row
 *   each id belongs to. Nothing is padded, but ids shared by rows are gathered once per row.
 * - `padded` (models before 2.0): rows padded with id 0 to the longest row, `[rows, length]`.
 */
import type { FeatureWindow } from './featurize.ts';

export type InputContract = 'short-segments' | 'segmented' | 'ragged' | 'padded';

/** Input names of each contract, in the order `feeds()` produces them. */
export const MODEL_INPUTS = {
  'short-segments': ['ids', 'short_segments', 'parts', 'part_rows', 'count', 'has_response'],
  segmented: ['ids', 'segments', 'parts', 'part_rows', 'count', 'has_response'],
  ragged: ['prompt_ids', 'prompt_rows', 'prompt_count', 'response_ids', 'response_rows', 'response_count', 'has_response'],
  padded: ['prompt_ids', 'prompt_count', 'response_ids', 'response_count', 'has_response'],
} as const satisfies Record<InputContract, readonly string[]>;

/** The student's output: sigmoid scores, `[rows, labels]`. */
export const MODEL_OUTPUT = 'scores';

/**
 * The contract a model's graph speaks, from its input names; `null` when it speaks neither
 * (a graph that is not a student, or one from another version of this code).
 * @example contractOf(session.inputNames) // 'ragged'
 */
export function contractOf(inputNames: readonly string[]): InputContract | null {
  for (const contract of ['short-segments', 'segmented', 'ragged', 'padded'] as const) {
    const names = MODEL_INPUTS[contract];
    if (names.length === inputNames.length && names.every((name) => inputNames.includes(name))) return contract;
  }
  return null;
}

/**
 * The session settings every student session is created with, in the worker and the pipeline
 * alike. ORT's QDQ passes would give each consumer of a DequantizeLinear its own copy: the
 * student's dequantized rows feed both the mean's and the max's ScatterND, and were dequantized
 * twice (30% of a batch's run, measured with ORT's profiler in Node).
 */
export const SESSION_OPTIONS = {
  graphOptimizationLevel: 'all',
  extra: { session: { disable_quant_qdq: '1' } },
} as const;

/** One input tensor as plain data: what to hand ORT. */
export interface InputTensor {
  type: 'int32' | 'float32';
  data: Int32Array | Float32Array;
  dims: number[];
}

/**
 * Most ids one ORT run packs (for `padded`, counting the padding; a row with more runs alone), in
 * the worker and the pipeline alike. It bounds the embedding gather's intermediate tensors (ids x
 * dim floats), because WASM memory never grows back, and runs of a few thousand ids score fastest
 * per id, those tensors staying in the caches. Measured in Node with the worker's WASM, 64 texts of
 * 2,047 ids through a 2.0-shaped model in runs of 2k/4k/8k/16k/32k ids: 0.24/0.21/0.19/0.19-0.21/
 * 0.20-0.21 ms per text; and ORT's WASM memory stays at 36.8 MiB instead of 44.1 with 32k runs.
 */
export const IDS_PER_RUN = 1 << 13;

/**
 * Most ids a segment of the `short-segments` contract holds: the most int8 values of at most 127
 * in magnitude whose sum an int16 holds (258 * 127 = 32,766).
 */
export const SHORT_SEGMENT_IDS = 258;

/** The input holding each id's segment, in the contracts that have one. */
export const SEGMENTS_INPUT = { segmented: 'segments', 'short-segments': 'short_segments' } as const;

/** Whether a contract gathers the ids that rows share once and pools them by segment. */
export const isSegmented = (contract: InputContract): contract is 'segmented' | 'short-segments' =>
  contract === 'segmented' || contract === 'short-segments';

/** Where a view lies in the array it views: [start, end) in elements. */
function extent(view: Int32Array): [start: number, end: number] {
  const start = view.byteOffset / Int32Array.BYTES_PER_ELEMENT;
  return [start, start + view.length];
}

/**
 * The ids a run gathers, counted as rows join it. For `segmented`, ids that rows share (views of
 * one array overlapping) count once: each array keeps the stretches its rows have covered so far.
 */
class RunIds {
  total = 0;
  readonly #shared: boolean;
  /** Per viewed array, the disjoint stretches [from, to) its rows in the run cover. */
  readonly #covered = new Map<ArrayBufferLike, [number, number][]>();

  constructor(shared: boolean) {
    this.#shared = shared;
  }

  /** The ids `view` would add to the run. */
  fresh(view: Int32Array | null): number {
    if (!view || !this.#shared) return view?.length ?? 0;
    const [start, end] = extent(view);
    let fresh = end - start;
    for (const [from, to] of this.#covered.get(view.buffer) ?? []) fresh -= Math.max(0, Math.min(end, to) - Math.max(start, from));
    return fresh;
  }

  /** Adds `view`'s ids to the run. */
  add(view: Int32Array | null): void {
    this.total += this.fresh(view);
    if (!view || !this.#shared) return;
    // the new stretch takes in those it overlaps or touches, so they stay disjoint
    const [start, end] = extent(view);
    const covered = this.#covered.get(view.buffer) ?? [];
    const apart = ([from, to]: [number, number]) => to < start || from > end;
    const joined: [number, number] = [start, end];
    for (const stretch of covered) {
      if (apart(stretch)) continue;
      joined[0] = Math.min(joined[0], stretch[0]);
      joined[1] = Math.max(joined[1], stretch[1]);
    }
    this.#covered.set(view.buffer, [...covered.filter(apart), joined]);
  }
}

/**
 * Splits rows into runs of at most `maxIds` ids each (a row over the bound runs alone): for
 * `segmented` and `short-segments` the ids the run gathers (shared ids once), for `ragged` every
 * row's ids, for `padded` every row padded to the longest, the rows sorted by width first so that
 * rows of similar width pad together.
 * @returns the row indices of each run
 * @example runsOf('ragged', windows) // [[0, 1, 2], [3]]
 */
export function runsOf(contract: InputContract, batch: readonly FeatureWindow[], maxIds = IDS_PER_RUN): number[][] {
  const width = (w: FeatureWindow) => w.prompt.length + (w.response?.length ?? 0);
  const order = batch.map((_, i) => i);
  if (contract === 'padded') order.sort((a, b) => width(batch[a]!) - width(batch[b]!));
  const runs: number[][] = [];
  let current: number[] = [];
  let ids = new RunIds(isSegmented(contract));
  let prompt = 1;
  let response = 1;
  for (const i of order) {
    const w = batch[i]!;
    const p = Math.max(prompt, w.prompt.length);
    const r = Math.max(response, w.response?.length ?? 0);
    const next = contract === 'padded' ? (current.length + 1) * (p + r) : ids.total + ids.fresh(w.prompt) + ids.fresh(w.response);
    if (current.length > 0 && next > maxIds) {
      runs.push(current);
      current = [];
      ids = new RunIds(isSegmented(contract));
      prompt = 1;
      response = 1;
    }
    current.push(i);
    ids.add(w.prompt);
    ids.add(w.response);
    prompt = Math.max(prompt, w.prompt.length);
    response = Math.max(response, w.response?.length ?? 0);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

function side(batch: readonly FeatureWindow[], pick: (w: FeatureWindow) => Int32Array | null) {
  let total = 0;
  for (const w of batch) total += pick(w)?.length ?? 0;
  // a side with no ids at all still gets one: id 0 (the all-zero row) in row 0 adds nothing
  const ids = new Int32Array(Math.max(1, total));
  const rows = new Int32Array(Math.max(1, total));
  const count = new Float32Array(batch.length);
  let at = 0;
  batch.forEach((w, row) => {
    const own = pick(w);
    count[row] = Math.max(1, own?.length ?? 0);
    if (!own) return;
    ids.set(own, at);
    rows.fill(row, at, at + own.length);
    at += own.length;
  });
  return { ids, rows, count };
}

/**
 * A batch in the `segmented` contract. Row i is window i's prompt side, row n + i its response
 * side (none when it has no response); both sides gather from the one table. The rows viewing one
 * array are grouped; their bounds cut the array into segments, and each segment some row holds is
 * gathered once: `ids`, with the segment of each (`segments`). Each row is then its segments:
 * `parts` (a segment) and `part_rows` (its row), one pair per segment of each row. In
 * `short-segments`, longer stretches are cut into segments of SHORT_SEGMENT_IDS ids at most.
 */
function segmentedFeeds(batch: readonly FeatureWindow[], contract: 'segmented' | 'short-segments'): Record<string, InputTensor> {
  const n = batch.length;
  const maxSegment = contract === 'short-segments' ? SHORT_SEGMENT_IDS : Infinity;
  const views = [...batch.map((w) => w.prompt), ...batch.map((w) => w.response)];
  const groups = new Map<ArrayBufferLike, number[]>();
  views.forEach((view, row) => {
    if (!view || view.length === 0) return;
    const rows = groups.get(view.buffer);
    if (rows) rows.push(row);
    else groups.set(view.buffer, [row]);
  });
  // per group: the bounds of its rows (ascending, distinct), and which stretches between them a row holds
  const cuts = [...groups].map(([buffer, rows]) => {
    const extents = rows.map((row) => extent(views[row]!));
    const bounds = splitLong(
      [...new Set(extents.flat())].sort((a, b) => a - b),
      maxSegment,
    );
    const at = new Map(bounds.map((bound, i) => [bound, i]));
    const spans = extents.map(([start, end]): [number, number] => [at.get(start)!, at.get(end)!]);
    const held = new Uint8Array(bounds.length);
    for (const [from, to] of spans) held.fill(1, from, to);
    return { whole: new Int32Array(buffer, 0, Math.floor(buffer.byteLength / Int32Array.BYTES_PER_ELEMENT)), rows, bounds, spans, held };
  });
  let idCount = 0;
  let partCount = 0;
  for (const { bounds, spans, held } of cuts) {
    for (let k = 0; k + 1 < bounds.length; k++) if (held[k]) idCount += bounds[k + 1]! - bounds[k]!;
    for (const [from, to] of spans) partCount += to - from;
  }
  // a batch with no ids at all still gets one: id 0 (the all-zero row) as segment 0, part of row 0
  const ids = new Int32Array(Math.max(1, idCount));
  const segments = new Int32Array(Math.max(1, idCount));
  const parts = new Int32Array(Math.max(1, partCount));
  const partRows = new Int32Array(Math.max(1, partCount));
  // a row without ids is a zero sum over a count of 1
  const count = new Float32Array(2 * n).fill(1);
  let id = 0;
  let segment = 0;
  let part = 0;
  for (const { whole, rows, bounds, spans, held } of cuts) {
    // the batch-wide number of each of this group's segments
    const numbers = new Int32Array(bounds.length);
    for (let k = 0; k + 1 < bounds.length; k++) {
      if (!held[k]) continue;
      const [from, to] = [bounds[k]!, bounds[k + 1]!];
      ids.set(whole.subarray(from, to), id);
      segments.fill(segment, id, id + to - from);
      id += to - from;
      numbers[k] = segment++;
    }
    rows.forEach((row, r) => {
      const [from, to] = spans[r]!;
      for (let k = from; k < to; k++) {
        parts[part] = numbers[k]!;
        partRows[part++] = row;
      }
      count[row] = bounds[to]! - bounds[from]!;
    });
  }
  return {
    ids: { type: 'int32', data: ids, dims: [ids.length] },
    [SEGMENTS_INPUT[contract]]: { type: 'int32', data: segments, dims: [segments.length] },
    parts: { type: 'int32', data: parts, dims: [parts.length] },
    part_rows: { type: 'int32', data: partRows, dims: [partRows.length] },
    count: { type: 'float32', data: count, dims: [2 * n, 1] },
    has_response: { type: 'float32', data: Float32Array.from(batch, (w) => (w.response ? 1 : 0)), dims: [n, 1] },
  };
}

/** Ascending `bounds` with more added where two lie more than `most` apart, so none do. */
function splitLong(bounds: number[], most: number): number[] {
  if (most === Infinity) return bounds;
  const out: number[] = [];
  for (const bound of bounds) {
    const last = out[out.length - 1];
    if (last !== undefined) for (let next = last + most; next < bound; next += most) out.push(next);
    out.push(bound);
  }
  return out;
}

function raggedFeeds(batch: readonly FeatureWindow[]): Record<string, InputTensor> {
  const n = batch.length;
  const prompt = side(batch, (w) => w.prompt);
  const response = side(batch, (w) => w.response);
  const hasResponse = Float32Array.from(batch, (w) => (w.response ? 1 : 0));
  return {
    prompt_ids: { type: 'int32', data: prompt.ids, dims: [prompt.ids.length] },
    prompt_rows: { type: 'int32', data: prompt.rows, dims: [prompt.rows.length] },
    prompt_count: { type: 'float32', data: prompt.count, dims: [n, 1] },
    response_ids: { type: 'int32', data: response.ids, dims: [response.ids.length] },
    response_rows: { type: 'int32', data: response.rows, dims: [response.rows.length] },
    response_count: { type: 'float32', data: response.count, dims: [n, 1] },
    has_response: { type: 'float32', data: hasResponse, dims: [n, 1] },
  };
}

function paddedFeeds(batch: readonly FeatureWindow[]): Record<string, InputTensor> {
  const n = batch.length;
  let promptLength = 1;
  let responseLength = 1;
  for (const w of batch) {
    promptLength = Math.max(promptLength, w.prompt.length);
    responseLength = Math.max(responseLength, w.response?.length ?? 0);
  }
  // padding id 0 points at an all-zero row: a padded row's sum over its real count is their mean
  const promptIds = new Int32Array(n * promptLength);
  const responseIds = new Int32Array(n * responseLength);
  const promptCount = new Float32Array(n);
  const responseCount = new Float32Array(n);
  const hasResponse = new Float32Array(n);
  batch.forEach((w, row) => {
    promptIds.set(w.prompt, row * promptLength);
    promptCount[row] = Math.max(1, w.prompt.length);
    responseCount[row] = Math.max(1, w.response?.length ?? 0);
    if (w.response) {
      responseIds.set(w.response, row * responseLength);
      hasResponse[row] = 1;
    }
  });
  return {
    prompt_ids: { type: 'int32', data: promptIds, dims: [n, promptLength] },
    prompt_count: { type: 'float32', data: promptCount, dims: [n, 1] },
    response_ids: { type: 'int32', data: responseIds, dims: [n, responseLength] },
    response_count: { type: 'float32', data: responseCount, dims: [n, 1] },
    has_response: { type: 'float32', data: hasResponse, dims: [n, 1] },
  };
}

/**
 * The input tensors of a batch of windows, as the model's contract names them.
 * @example const tensors = feeds('ragged', featurize('hi', null, config))
 */
export function feeds(contract: InputContract, batch: readonly FeatureWindow[]): Record<string, InputTensor> {
  if (isSegmented(contract)) return segmentedFeeds(batch, contract);
  return contract === 'ragged' ? raggedFeeds(batch) : paddedFeeds(batch);
}

/**
 * Each text's scores: per label, the highest over the rows (windows, spans, readings) that came
 * from it, so a harmful passage anywhere in a text decides.
 * @param owners for each scored row, the index of the text it came from
 * @param scores row-major `[owners.length, width]`
 * @param texts how many texts there are
 */
export function maxOverRows(owners: ArrayLike<number>, scores: ArrayLike<number>, width: number, texts: number): Float64Array[] {
  const best = Array.from({ length: texts }, () => new Float64Array(width).fill(-Infinity));
  for (let r = 0; r < owners.length; r++) {
    const target = best[owners[r]!]!;
    for (let l = 0; l < width; l++) target[l] = Math.max(target[l]!, scores[r * width + l]!);
  }
  return best;
}
