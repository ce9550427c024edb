/**
 * A minimal ONNX model builder: tensors, nodes and graph inputs/outputs, serialised to the
 * ModelProto wire format (field numbers from onnx/onnx.proto). Enough for the student's graph.
 */
import { ProtoWriter } from './protobuf.ts';

export const DataType = { FLOAT: 1, INT8: 3, INT16: 5, INT32: 6, INT64: 7 } as const;
type DataTypeId = (typeof DataType)[keyof typeof DataType];

export interface Tensor {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  data: Float32Array | Int8Array | Int32Array | BigInt64Array;
}

export type Attribute = { name: string } & ({ int: number } | { ints: number[] } | { string: string });

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

export interface ValueInfo {
  name: string;
  dataType: DataTypeId;
  /** A number is a fixed size, a string a symbolic one (e.g. 'batch'). */
  shape: (number | string)[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

const IR_VERSION = 8;
// 18: ScatterND with reduction 'max', which the student's bags are pooled with.
export const OPSET = 18;

function writeTensor(w: ProtoWriter, t: Tensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.dataType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeNode(w: ProtoWriter, n: Node, index: number): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`);
  w.string(4, n.op);
  for (const a of n.attributes ?? []) {
    w.message(5, (attr) => {
      attr.string(1, a.name);
      if ('int' in a) attr.int(3, a.int).int(20, 2);
      else if ('string' in a) attr.bytes(4, new TextEncoder().encode(a.string)).int(20, 3);
      else {
        for (const v of a.ints) attr.int(8, v);
        attr.int(20, 7);
      }
    });
  }
}

/**
 * Serialises a graph as an ONNX model (IR 8, default-domain opset 18).
 * @param metadata string pairs stored as `metadata_props`
 */
export function encodeModel(graph: Graph, metadata: Record<string, string> = {}): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, 'edgeguard');
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) => g.message(1, (nw) => writeNode(nw, n, i)));
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (op) => op.string(1, '').int(2, OPSET));
  for (const [key, value] of Object.entries(metadata)) {
    w.message(14, (kv) => kv.string(1, key).string(2, value));
  }
  return w.finish();
}
