/**
 * The student as an ONNX graph: embedding bags for prompt and response (mean, and with 'mean-max'
 * also the per-dimension max floored at zero, as in student.ts), a one-hidden-layer MLP,
 * sigmoid scores. Inputs and outputs are the `short-segments` contract of src/guard/model-input.ts:
 * each side's ids gathered once however many rows share them, pooled by ScatterND (sum and max onto
 * zeros) per segment of at most 258 ids, then per row from its segments, so no row is padded to the
 * longest and a prompt's sentence spans do not gather its ids a second time. The `segmented`
 * (2.0.2, 2.0.3; segments of any length), `ragged` (2.0.0, 2.0.1) and `padded` (before 2.0)
 * contracts are kept so the worker's support for those models stays tested.
 *
 * The table is quantised to int8 one of two ways, and the graph gathers int8 rows first and scales
 * only those (a DequantizeLinear over the whole table is not folded by onnxruntime and would cost
 * milliseconds per call):
 * - `int8-rows`: one float scale per row, gathered with the row and applied by DequantizeLinear;
 * - `int8-columns`: one scale per dimension, the same for every row, so it commutes with the sum,
 *   mean and max (floored at zero) of the bags and is folded into the rows of `w1` that read
 *   them. The graph pools the gathered int8 rows without scaling them (segmentPools): no scale
 *   gather, no multiply, a run of 64 prompts some 15% shorter, and, pooled in int8 and int16
 *   instead of float, a fifth shorter again. A row of small values keeps fewer of its bits than
 *   with its own scale (see exportModel's probe check).
 */
import { inputSize, type StudentWeights } from '../train/student.ts';
import { SEGMENTS_INPUT, isSegmented, type InputContract } from '../../src/guard/model-input.ts';
import { DataType, type Graph, type Node, type Tensor, type ValueInfo } from './onnx-model.ts';

export type Quantization = 'int8-rows' | 'int8-columns' | 'float32';

/** Per-row symmetric int8 quantisation: row ~= q * scale, |q| <= 127. */
export function quantizeRows(table: Float32Array, rows: number, dim: number) {
  const q = new Int8Array(rows * dim);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(table[r * dim + d]!));
    const s = max > 0 ? max / 127 : 1;
    scale[r] = s;
    for (let d = 0; d < dim; d++) q[r * dim + d] = Math.round(table[r * dim + d]! / s);
  }
  return { q, scale };
}

/** Per-column symmetric int8 quantisation: row[d] ~= q[d] * scale[d], |q| <= 127. */
export function quantizeColumns(table: Float32Array, dim: number) {
  const max = new Float32Array(dim);
  for (let i = 0; i < table.length; i++) max[i % dim] = Math.max(max[i % dim]!, Math.abs(table[i]!));
  const scale = Float32Array.from(max, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(table.length);
  for (let i = 0; i < q.length; i++) q[i] = Math.round(table[i]! / scale[i % dim]!);
  return { q, scale };
}

/**
 * `w1` with each row that reads a pooled embedding dimension multiplied by that dimension's
 * scale: the features are laid out as prompt and response means (2 * dim), `has_response`, then
 * with max pooling the prompt and response maxes (2 * dim), in every contract.
 */
function foldColumnScales(w1: Float32Array, hidden: number, scale: Float32Array): Float32Array {
  const dim = scale.length;
  const folded = Float32Array.from(w1);
  for (let feature = 0; feature < w1.length / hidden; feature++) {
    if (feature === 2 * dim) continue; // has_response
    const s = scale[(feature < 2 * dim ? feature : feature - 2 * dim - 1) % dim]!;
    for (let h = 0; h < hidden; h++) folded[feature * hidden + h]! *= s;
  }
  return folded;
}

/**
 * Nodes gathering (and with int8, scaling) the embedding rows of `<prefix>ids` into `<prefix>vectors`
 * (`prefix` is `prompt_` or `response_`, or empty for the `segmented` contract's one tensor of ids).
 * Int8 rows are scaled by one DequantizeLinear along the ids (float(q) * scale, as Cast and Mul
 * compute it, in one pass instead of two: a batch's run 17% shorter, its scores bitwise the same);
 * the padded contract's `[rows, length]` ids keep Cast and Mul.
 */
function gather(prefix: string, quantization: Quantization, contract: InputContract): Node[] {
  const ids = `${prefix}ids`;
  if (quantization === 'float32') return [{ op: 'Gather', inputs: ['embedding', ids], outputs: [`${prefix}vectors`] }];
  const rows: Node = { op: 'Gather', inputs: ['embedding_q', ids], outputs: [`${prefix}vectors_q`] };
  // int8-columns: the scales are in w1, and the segmented contracts cast where they pool (segmentPools)
  if (quantization === 'int8-columns') {
    return isSegmented(contract) ? [rows] : [rows, cast(`${prefix}vectors_q`, `${prefix}vectors`, DataType.FLOAT)];
  }
  const scales: Node = { op: 'Gather', inputs: ['embedding_scale', ids], outputs: [`${prefix}scales`] };
  if (contract !== 'padded') {
    const dequantize: Node = {
      op: 'DequantizeLinear',
      inputs: [`${prefix}vectors_q`, `${prefix}scales`],
      outputs: [`${prefix}vectors`],
      attributes: [{ name: 'axis', int: 0 }],
    };
    return [rows, scales, dequantize];
  }
  return [
    rows,
    cast(`${prefix}vectors_q`, `${prefix}vectors_f`, DataType.FLOAT),
    scales,
    { op: 'Mul', inputs: [`${prefix}vectors_f`, `${prefix}scales`], outputs: [`${prefix}vectors`] },
  ];
}

function cast(input: string, output: string, to: number): Node {
  return { op: 'Cast', inputs: [input], outputs: [output], attributes: [{ name: 'to', int: to }] };
}

/** `indices` ([n] int32) as ScatterND's `[n, 1]` int64 indices, named `output`. */
function scatterIndices(indices: string, output: string): Node[] {
  return [
    { op: 'Cast', inputs: [indices], outputs: [`${indices}_64`], attributes: [{ name: 'to', int: DataType.INT64 }] },
    { op: 'Unsqueeze', inputs: [`${indices}_64`, 'axis_last'], outputs: [output] },
  ];
}

/** Zeros of `[rows, dim]`, named `output`: the rows come from `<prefix>count`, `[rows, 1]` * `[1, dim]`. */
function rowZeros(prefix: string, output: string): Node[] {
  return [
    { op: 'Shape', inputs: [`${prefix}count`], outputs: [`${prefix}count_shape`] },
    { op: 'Mul', inputs: [`${prefix}count_shape`, 'one_by_dim'], outputs: [`${prefix}bag_shape`] },
    { op: 'ConstantOfShape', inputs: [`${prefix}bag_shape`], outputs: [output] },
  ];
}

/** `updates` pooled onto `zeros` at `indices` by `reduction` (ScatterND). */
function scatter(zeros: string, indices: string, updates: string, reduction: 'add' | 'max', output: string): Node {
  return { op: 'ScatterND', inputs: [zeros, indices, updates], outputs: [output], attributes: [{ name: 'reduction', string: reduction }] };
}

/**
 * Nodes from `<side>_vectors` and `<side>_rows` to `<side>_mean` (and `<side>_max` with max pooling).
 * ScatterND moves each id's whole vector onto its row in one step; ScatterElements, which works
 * element by element, made a 500-character prompt's seven rows cost 1.7 ms in onnxruntime-web.
 */
function bag(side: 'prompt' | 'response', gathered: Node[], withMax: boolean): Node[] {
  const targets: Node[] = [...scatterIndices(`${side}_rows`, `${side}_targets`), ...rowZeros(`${side}_`, `${side}_zeros`)];
  const pool = (reduction: 'add' | 'max', output: string) =>
    scatter(`${side}_zeros`, `${side}_targets`, `${side}_vectors`, reduction, output);
  const mean: Node[] = [pool('add', `${side}_sum`), { op: 'Div', inputs: [`${side}_sum`, `${side}_count`], outputs: [`${side}_mean`] }];
  // max onto zeros is the max floored at zero; the filler id 0 of an empty side gathers the zero row
  const max: Node[] = [pool('max', `${side}_max`)];
  return [...gathered, ...targets, ...mean, ...(withMax ? max : [])];
}

/**
 * The bags of the `segmented` contract, both sides at once: the `ids` (prompt and response ids
 * from the one table) are each gathered once and pooled by segment (sum and max, as `bag` pools
 * rows), then each row pools its segments (`parts`, the segment of each part; `part_rows`, its
 * row: a window's prompt side is row i, its response side row n + i) the same way. A sum of segment
 * sums is the row's sum and a max of segment maxes its max, so the scores are those of `bag` but
 * for the order of float additions. The `[2n, dim]` pools are laid out as `[n, 2 * dim]`, prompt
 * then response: `side_means` (and `side_maxes`), what `bag`'s two sides concatenated make.
 */
function segmentedBags(withMax: boolean, quantization: Quantization, contract: 'segmented' | 'short-segments'): Node[] {
  const segments = SEGMENTS_INPUT[contract];
  const targets: Node[] = [
    ...scatterIndices(segments, 'segment_targets'),
    // zeros of [segments, dim]: segments are numbered from 0, so there are the highest number + 1
    { op: 'ReduceMax', inputs: [`${segments}_64`], outputs: ['last_segment'], attributes: [{ name: 'keepdims', int: 1 }] },
    { op: 'Add', inputs: ['last_segment', 'one'], outputs: ['segment_total'] },
    { op: 'Concat', inputs: ['segment_total', 'dim'], outputs: ['segment_shape'], attributes: [{ name: 'axis', int: 0 }] },
    { op: 'ConstantOfShape', inputs: ['segment_shape'], outputs: ['segment_zeros'] },
    ...scatterIndices('part_rows', 'row_targets'),
    // zeros of [2n, dim]
    ...rowZeros('', 'row_zeros'),
  ];
  // [2n, dim] rows, prompt sides first, as [n, 2 * dim]: each window's prompt side, then its response side
  const bySide = (rows: string, output: string): Node[] => [
    { op: 'Reshape', inputs: [rows, 'two_sides'], outputs: [`${rows}_sides`] },
    { op: 'Transpose', inputs: [`${rows}_sides`], outputs: [`${rows}_windows`], attributes: [{ name: 'perm', ints: [1, 0, 2] }] },
    { op: 'Reshape', inputs: [`${rows}_windows`, 'both_sides'], outputs: [output] },
  ];
  // each segment's pool, then each part's copy of its segment's, onto its row
  const pool = (reduction: 'add' | 'max', name: string): Node[] => [
    ...segmentPools(reduction, quantization, contract),
    { op: 'Gather', inputs: [`segment_${name}`, 'parts'], outputs: [`part_${name}`] },
    scatter('row_zeros', 'row_targets', `part_${name}`, reduction, `row_${name}`),
  ];
  const mean: Node[] = [
    ...pool('add', 'sum'),
    { op: 'Div', inputs: ['row_sum', 'count'], outputs: ['row_mean'] },
    ...bySide('row_mean', 'side_means'),
  ];
  // max onto zeros is the max floored at zero, as in `bag`
  const max: Node[] = [...pool('max', 'max'), ...bySide('row_max', 'side_maxes')];
  return [...targets, ...mean, ...(withMax ? max : [])];
}

/**
 * Each segment's pool (`segment_sum` or `segment_max`, float) from the gathered rows. From float
 * rows when the table is float or scaled per row. With int8-columns every row has the same scales
 * (in w1), which commute with the sum and the max: the max is taken of the int8 rows themselves
 * (a quarter of the bytes of float), and with `short-segments`, whose segments are short enough
 * for an int16 sum, the sum of them cast to int16 (half): a run of 64 prompts some 10% and 20%
 * shorter, scores the same to the bit (sums of integers are exact in either type).
 */
function segmentPools(reduction: 'add' | 'max', quantization: Quantization, contract: 'segmented' | 'short-segments'): Node[] {
  const pool = reduction === 'add' ? 'segment_sum' : 'segment_max';
  if (quantization !== 'int8-columns') return [scatter('segment_zeros', 'segment_targets', 'vectors', reduction, pool)];
  if (reduction === 'add' && contract === 'segmented') {
    return [cast('vectors_q', 'vectors', DataType.FLOAT), scatter('segment_zeros', 'segment_targets', 'vectors', 'add', pool)];
  }
  // pooled in int8 (max) or int16 (sum), then cast to float
  const [type, rows] = reduction === 'max' ? [DataType.INT8, 'vectors_q'] : [DataType.INT16, 'vectors_16'];
  return [
    ...(reduction === 'add' ? [cast('vectors_q', rows, type)] : []),
    cast('segment_zeros', `${pool}_zeros`, type),
    scatter(`${pool}_zeros`, 'segment_targets', rows, reduction, `${pool}_narrow`),
    cast(`${pool}_narrow`, pool, DataType.FLOAT),
  ];
}

/**
 * The same bag in the `padded` contract of models before 2.0 (`[rows, length]` ids, 0-padded),
 * kept so the worker's support for those models stays tested.
 */
function paddedBag(side: 'prompt' | 'response', gathered: Node[], withMax: boolean): Node[] {
  const mean: Node[] = [
    { op: 'ReduceSum', inputs: [`${side}_vectors`, 'axis_last'], outputs: [`${side}_sum`], attributes: [{ name: 'keepdims', int: 0 }] },
    { op: 'Div', inputs: [`${side}_sum`, `${side}_count`], outputs: [`${side}_mean`] },
  ];
  // padding ids gather the zero row 0, which the floor at zero (Relu) makes harmless
  const max: Node[] = [
    { op: 'ReduceMax', inputs: [`${side}_vectors`, 'axis_last'], outputs: [`${side}_max_raw`], attributes: [{ name: 'keepdims', int: 0 }] },
    { op: 'Relu', inputs: [`${side}_max_raw`], outputs: [`${side}_max`] },
  ];
  return [...gathered, ...mean, ...(withMax ? max : [])];
}

const SEGMENTED_INPUTS: ValueInfo[] = [
  { name: 'ids', dataType: DataType.INT32, shape: ['ids'] },
  { name: 'segments', dataType: DataType.INT32, shape: ['ids'] },
  { name: 'parts', dataType: DataType.INT32, shape: ['parts'] },
  { name: 'part_rows', dataType: DataType.INT32, shape: ['parts'] },
  { name: 'count', dataType: DataType.FLOAT, shape: ['sides', 1] },
  { name: 'has_response', dataType: DataType.FLOAT, shape: ['batch', 1] },
];

const RAGGED_INPUTS: ValueInfo[] = [
  { name: 'prompt_ids', dataType: DataType.INT32, shape: ['prompt_ids'] },
  { name: 'prompt_rows', dataType: DataType.INT32, shape: ['prompt_ids'] },
  { name: 'prompt_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
  { name: 'response_ids', dataType: DataType.INT32, shape: ['response_ids'] },
  { name: 'response_rows', dataType: DataType.INT32, shape: ['response_ids'] },
  { name: 'response_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
  { name: 'has_response', dataType: DataType.FLOAT, shape: ['batch', 1] },
];

const PADDED_INPUTS: ValueInfo[] = [
  { name: 'prompt_ids', dataType: DataType.INT32, shape: ['batch', 'prompt_length'] },
  { name: 'prompt_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
  { name: 'response_ids', dataType: DataType.INT32, shape: ['batch', 'response_length'] },
  { name: 'response_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
  { name: 'has_response', dataType: DataType.FLOAT, shape: ['batch', 1] },
];

const SHORT_SEGMENTS_INPUTS: ValueInfo[] = SEGMENTED_INPUTS.map((input) =>
  input.name === SEGMENTS_INPUT.segmented ? { ...input, name: SEGMENTS_INPUT['short-segments'] } : input,
);

const INPUTS = {
  'short-segments': SHORT_SEGMENTS_INPUTS,
  segmented: SEGMENTED_INPUTS,
  ragged: RAGGED_INPUTS,
  padded: PADDED_INPUTS,
} satisfies Record<InputContract, ValueInfo[]>;

/** The nodes from the inputs to the pooled features of each contract. */
function bags(contract: InputContract, quantization: Quantization, withMax: boolean): Node[] {
  if (isSegmented(contract)) return [...gather('', quantization, contract), ...segmentedBags(withMax, quantization, contract)];
  const side = contract === 'ragged' ? bag : paddedBag;
  return [
    ...side('prompt', gather('prompt_', quantization, contract), withMax),
    ...side('response', gather('response_', quantization, contract), withMax),
  ];
}

/** The embedding table's initializers as `quantization` stores it, and the `w1` that reads its bags. */
function embeddingTable(
  weights: StudentWeights,
  quantization: Quantization,
  contract: InputContract,
): { table: Tensor[]; w1: Float32Array } {
  const { buckets, dim } = weights;
  if (quantization === 'float32') {
    return { table: [{ name: 'embedding', dataType: DataType.FLOAT, dims: [buckets, dim], data: weights.embedding }], w1: weights.w1 };
  }
  if (quantization === 'int8-columns') {
    const { q, scale } = quantizeColumns(weights.embedding, dim);
    return {
      table: [{ name: 'embedding_q', dataType: DataType.INT8, dims: [buckets, dim], data: q }],
      w1: foldColumnScales(weights.w1, weights.hidden, scale),
    };
  }
  const { q, scale } = quantizeRows(weights.embedding, buckets, dim);
  return {
    table: [
      { name: 'embedding_q', dataType: DataType.INT8, dims: [buckets, dim], data: q },
      // one scale per row: [buckets] for DequantizeLinear's axis, [buckets, 1] to broadcast in Mul
      { name: 'embedding_scale', dataType: DataType.FLOAT, dims: contract === 'padded' ? [buckets, 1] : [buckets], data: scale },
    ],
    w1: weights.w1,
  };
}

/**
 * Builds the inference graph of trained weights.
 * @param contract the input contract (src/guard/model-input.ts); 'ragged' and 'padded' only to
 *   test the worker's support for models before 2.0.2
 */
export function studentGraph(weights: StudentWeights, quantization: Quantization, contract: InputContract = 'short-segments'): Graph {
  const { buckets, dim, hidden, outputs } = weights;
  const { table, w1 } = embeddingTable(weights, quantization, contract);
  const input = inputSize(weights);
  const withMax = weights.pooling === 'mean-max';
  const features = isSegmented(contract)
    ? ['side_means', 'has_response', ...(withMax ? ['side_maxes'] : [])]
    : ['prompt_mean', 'response_mean', 'has_response', ...(withMax ? ['prompt_max', 'response_max'] : [])];
  return {
    name: 'edgeguard_student',
    initializers: [
      ...table,
      { name: 'axis_last', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) },
      { name: 'one_by_dim', dataType: DataType.INT64, dims: [2], data: BigInt64Array.of(1n, BigInt(dim)) },
      ...(isSegmented(contract)
        ? [
            { name: 'one', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) },
            { name: 'dim', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(BigInt(dim)) },
            { name: 'two_sides', dataType: DataType.INT64, dims: [3], data: BigInt64Array.of(2n, -1n, BigInt(dim)) },
            { name: 'both_sides', dataType: DataType.INT64, dims: [2], data: BigInt64Array.of(-1n, BigInt(2 * dim)) },
          ]
        : []),
      { name: 'w1', dataType: DataType.FLOAT, dims: [input, hidden], data: w1 },
      { name: 'b1', dataType: DataType.FLOAT, dims: [hidden], data: weights.b1 },
      { name: 'w2', dataType: DataType.FLOAT, dims: [hidden, outputs], data: weights.w2 },
      { name: 'b2', dataType: DataType.FLOAT, dims: [outputs], data: weights.b2 },
    ],
    nodes: [
      ...bags(contract, quantization, withMax),
      { op: 'Concat', inputs: features, outputs: ['features'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'MatMul', inputs: ['features', 'w1'], outputs: ['h_pre'] },
      { op: 'Add', inputs: ['h_pre', 'b1'], outputs: ['h_bias'] },
      { op: 'Relu', inputs: ['h_bias'], outputs: ['hidden'] },
      { op: 'MatMul', inputs: ['hidden', 'w2'], outputs: ['logits_pre'] },
      { op: 'Add', inputs: ['logits_pre', 'b2'], outputs: ['logits'] },
      { op: 'Sigmoid', inputs: ['logits'], outputs: ['scores'] },
    ],
    inputs: INPUTS[contract],
    outputs: [{ name: 'scores', dataType: DataType.FLOAT, shape: ['batch', outputs] }],
  };
}
