/**
 * The student as an ONNX graph: embedding bags for prompt and response (mean, and with 'mean-max'
 * also the per-dimension max floored at zero, as in student.ts), a one-hidden-layer MLP,
 * sigmoid scores. Inputs and outputs match `packBatch()` in src/guard/featurize.ts.
 *
 * With int8 quantisation the table is stored as int8 rows plus one float scale per row, and the
 * graph gathers int8 rows first and scales only those: a DequantizeLinear over the whole table is
 * not folded by onnxruntime and would cost milliseconds per call.
 */
import { inputSize, type StudentWeights } from '../train/student.ts';
import { DataType, type Graph, type Node, type Tensor } from './onnx-model.ts';

export type Quantization = 'int8-rows' | 'float32';

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

/** Nodes from `<side>_ids` to `<side>_mean` (and `<side>_max` with max pooling). */
function bag(side: 'prompt' | 'response', quantization: Quantization, withMax: boolean): Node[] {
  const ids = `${side}_ids`;
  const rows: Node[] =
    quantization === 'float32'
      ? [{ op: 'Gather', inputs: ['embedding', ids], outputs: [`${side}_rows`] }]
      : [
          { op: 'Gather', inputs: ['embedding_q', ids], outputs: [`${side}_rows_q`] },
          { op: 'Cast', inputs: [`${side}_rows_q`], outputs: [`${side}_rows_f`], attributes: [{ name: 'to', int: DataType.FLOAT }] },
          { op: 'Gather', inputs: ['embedding_scale', ids], outputs: [`${side}_scales`] },
          { op: 'Mul', inputs: [`${side}_rows_f`, `${side}_scales`], outputs: [`${side}_rows`] },
        ];
  const mean: Node[] = [
    { op: 'ReduceSum', inputs: [`${side}_rows`, 'axis_tokens'], outputs: [`${side}_sum`], attributes: [{ name: 'keepdims', int: 0 }] },
    { op: 'Div', inputs: [`${side}_sum`, `${side}_count`], outputs: [`${side}_mean`] },
  ];
  // padding ids gather the zero row 0, which the floor at zero (Relu) makes harmless
  const max: Node[] = [
    { op: 'ReduceMax', inputs: [`${side}_rows`], outputs: [`${side}_max_raw`], attributes: [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 0 }] },
    { op: 'Relu', inputs: [`${side}_max_raw`], outputs: [`${side}_max`] },
  ];
  return [...rows, ...mean, ...(withMax ? max : [])];
}

/** Builds the inference graph of trained weights. */
export function studentGraph(weights: StudentWeights, quantization: Quantization): Graph {
  const { buckets, dim, hidden, outputs } = weights;
  const table: Tensor[] =
    quantization === 'float32'
      ? [{ name: 'embedding', dataType: DataType.FLOAT, dims: [buckets, dim], data: weights.embedding }]
      : (() => {
          const { q, scale } = quantizeRows(weights.embedding, buckets, dim);
          return [
            { name: 'embedding_q', dataType: DataType.INT8, dims: [buckets, dim], data: q },
            { name: 'embedding_scale', dataType: DataType.FLOAT, dims: [buckets, 1], data: scale },
          ];
        })();
  const input = inputSize(weights);
  const withMax = weights.pooling === 'mean-max';
  const features = ['prompt_mean', 'response_mean', 'has_response', ...(withMax ? ['prompt_max', 'response_max'] : [])];
  return {
    name: 'edgeguard_student',
    initializers: [
      ...table,
      { name: 'axis_tokens', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) },
      { name: 'w1', dataType: DataType.FLOAT, dims: [input, hidden], data: weights.w1 },
      { name: 'b1', dataType: DataType.FLOAT, dims: [hidden], data: weights.b1 },
      { name: 'w2', dataType: DataType.FLOAT, dims: [hidden, outputs], data: weights.w2 },
      { name: 'b2', dataType: DataType.FLOAT, dims: [outputs], data: weights.b2 },
    ],
    nodes: [
      ...bag('prompt', quantization, withMax),
      ...bag('response', quantization, withMax),
      { op: 'Concat', inputs: features, outputs: ['features'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'MatMul', inputs: ['features', 'w1'], outputs: ['h_pre'] },
      { op: 'Add', inputs: ['h_pre', 'b1'], outputs: ['h_bias'] },
      { op: 'Relu', inputs: ['h_bias'], outputs: ['hidden'] },
      { op: 'MatMul', inputs: ['hidden', 'w2'], outputs: ['logits_pre'] },
      { op: 'Add', inputs: ['logits_pre', 'b2'], outputs: ['logits'] },
      { op: 'Sigmoid', inputs: ['logits'], outputs: ['scores'] },
    ],
    inputs: [
      { name: 'prompt_ids', dataType: DataType.INT32, shape: ['batch', 'prompt_length'] },
      { name: 'prompt_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
      { name: 'response_ids', dataType: DataType.INT32, shape: ['batch', 'response_length'] },
      { name: 'response_count', dataType: DataType.FLOAT, shape: ['batch', 1] },
      { name: 'has_response', dataType: DataType.FLOAT, shape: ['batch', 1] },
    ],
    outputs: [{ name: 'scores', dataType: DataType.FLOAT, shape: ['batch', outputs] }],
  };
}
