/**
 * The one door to onnxruntime-web. Everything that knows ORT lives here: the `.wasm` imported as a
 * precompiled module, the shim that hands it to ORT, single-threaded sessions, runs serialised
 * through one promise chain, and the size of the WASM memory. A session's scoring calls are
 * coalesced into shared runs (coalesce.ts), within the per-run id budget (model-input.ts).
 *
 * Why a shim: Workers forbid compiling WebAssembly from bytes at runtime, but ORT only accepts the
 * binary as bytes (`env.wasm.wasmBinary`) and then calls `WebAssembly.instantiate(bytes, imports)`.
 * We give ORT a marker instead of bytes; when its glue instantiates the marker, the shim
 * instantiates the module that wrangler compiled at upload time. Every other call passes through.
 */
import * as ort from 'onnxruntime-web/wasm';
import ORT_WASM from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { createCoalescer, type CoalescedOutput, type ScoreOptions } from './coalesce.ts';
import type { FeatureWindow } from './featurize.ts';
import { MODEL_OUTPUT, SESSION_OPTIONS, contractOf, feeds, runsOf, type InputContract } from './model-input.ts';

/**
 * A model the runtime cannot use: bytes ORT rejects, inputs and outputs off the contract, or a
 * run that failed. `fatal` when the WASM instance may be left unusable (out of memory, a trap):
 * the session is then done for, and whoever holds it should load the model again.
 */
export class ModelRuntimeError extends Error {
  override name = 'ModelRuntimeError';
  readonly fatal: boolean;

  constructor(message: string, options?: { cause?: unknown; fatal?: boolean }) {
    super(message, { cause: options?.cause });
    this.fatal = options?.fatal ?? false;
  }
}

/**
 * Whether a run's error may have left the WASM instance unusable: memory that cannot grow
 * (a RangeError from `Memory.grow`, ORT's "out of memory", emscripten's abort) or a trap.
 */
export function isFatalRunError(error: unknown): boolean {
  if (error instanceof RangeError || error instanceof WebAssembly.RuntimeError) return true;
  return /out of memory|memory access out of bounds|Aborted\(|unreachable/i.test(String((error as Error)?.message ?? error));
}

type Instantiate = typeof WebAssembly.instantiate;

/** Bytes ORT receives as its "binary"; never valid WebAssembly, so a mix-up fails loudly. */
export const PRECOMPILED_MARKER = new TextEncoder().encode('edgeguard:precompiled-ort-wasm');

function isMarker(source: unknown, marker: Uint8Array): boolean {
  let view: Uint8Array;
  if (source instanceof Uint8Array) view = source;
  else if (source instanceof ArrayBuffer) view = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) view = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  else return false;
  return view.byteLength === marker.byteLength && view.every((byte, i) => byte === marker[i]);
}

function findMemory(instance: WebAssembly.Instance, imports: WebAssembly.Imports | undefined): WebAssembly.Memory | null {
  for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) return value;
  for (const namespace of Object.values(imports ?? {})) {
    for (const value of Object.values(namespace)) if (value instanceof WebAssembly.Memory) return value;
  }
  return null;
}

/**
 * Wraps `WebAssembly.instantiate` so that instantiating `marker` instantiates the precompiled
 * `module` instead, resolving to `{ instance, module }` as instantiating bytes would. Any other
 * source (bytes or a Module) goes to `original` unchanged.
 * @param onInstance called with the new instance and its memory (imported or exported), if any
 * @example WebAssembly.instantiate = createPrecompiledInstantiate(WebAssembly.instantiate, wasm, marker)
 */
export function createPrecompiledInstantiate(
  original: Instantiate,
  module: WebAssembly.Module,
  marker: Uint8Array,
  onInstance: (instance: WebAssembly.Instance, memory: WebAssembly.Memory | null) => void = () => {},
): Instantiate {
  const instantiate = async (source: unknown, imports?: WebAssembly.Imports) => {
    if (!isMarker(source, marker)) return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
    const instance = await original(module, imports);
    onInstance(instance, findMemory(instance, imports));
    return { instance, module };
  };
  return instantiate as Instantiate;
}

let ortMemory: WebAssembly.Memory | null = null;
let configured = false;

function configureOrt(): void {
  if (configured) return;
  WebAssembly.instantiate = createPrecompiledInstantiate(
    WebAssembly.instantiate.bind(WebAssembly),
    ORT_WASM,
    PRECOMPILED_MARKER,
    (_instance, memory) => {
      ortMemory = memory;
    },
  );
  // One thread: Workers have no Web Workers to run ORT's pthreads on.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = PRECOMPILED_MARKER;
  ort.env.logLevel = 'error';
  configured = true;
}

/** Bytes of WebAssembly memory ORT holds (it only grows), or `null` before the first session. */
export function wasmMemoryBytes(): number | null {
  return ortMemory ? ortMemory.buffer.byteLength : null;
}

// ORT's WASM backend runs one call at a time; concurrent requests queue here instead of racing
// inside the same WebAssembly instance.
let tail: Promise<unknown> = Promise.resolve();

function serialised<T>(task: () => Promise<T>): Promise<T> {
  const result = tail.then(task, task);
  tail = result.catch(() => undefined);
  return result;
}

/** A loaded student: one ORT session, reused for every request of the isolate. */
export interface ModelSession {
  /** The input contract the model's graph speaks (see model-input.ts). */
  readonly contract: InputContract;
  /**
   * Scores a batch of feature windows; resolves to one row of `width` sigmoid scores per window,
   * row-major. Calls that arrive together share ORT runs (see coalesce.ts): each waits until the
   * next macrotask, or `options.waitMs`, for others to join; runs take up to IDS_PER_RUN ids (a
   * larger batch is split; a window over it runs alone), and each call gets its own rows only.
   * @throws ModelRuntimeError when a run of its windows failed or its output is not `[windows, width]`
   */
  run(batch: readonly FeatureWindow[], options?: ScoreOptions): Promise<CoalescedOutput>;
  /** Frees the session's WASM memory for reuse by the next model. */
  release(): Promise<void>;
  /** The fatal error that ended this session (every later run fails with it), or `null` while it is usable. */
  failure(): ModelRuntimeError | null;
}

function tensors(contract: InputContract, batch: readonly FeatureWindow[]): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feeds(contract, batch)).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
}

/**
 * Creates the ORT session of a student model (the `.onnx` bytes) on the WASM backend.
 * The first call also instantiates ORT itself (~0.4 s locally).
 * @throws ModelRuntimeError when ORT cannot load the bytes or the graph is off the contract
 * @example const session = await createSession(new Uint8Array(await object.arrayBuffer()))
 */
export async function createSession(bytes: Uint8Array): Promise<ModelSession> {
  configureOrt();
  const session = await serialised(async () => {
    try {
      return await ort.InferenceSession.create(bytes, {
        ...SESSION_OPTIONS,
        executionProviders: ['wasm'],
      });
    } catch (error) {
      throw new ModelRuntimeError(`onnxruntime could not load the model: ${(error as Error).message ?? error}`, { cause: error });
    }
  });
  const contract = contractOf(session.inputNames);
  if (contract === null || !session.outputNames.includes(MODEL_OUTPUT)) {
    await session.release();
    throw new ModelRuntimeError(
      `model is off the contract: inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`,
    );
  }
  let failure: ModelRuntimeError | null = null;
  // one ORT run, in turn with every other run of the isolate
  const runOnce = (batch: readonly FeatureWindow[]) =>
    serialised(async () => {
      if (failure) throw failure;
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(tensors(contract, batch), [MODEL_OUTPUT]);
      } catch (error) {
        const fatal = isFatalRunError(error);
        const failed = new ModelRuntimeError(`onnxruntime run failed: ${(error as Error)?.message ?? error}`, { cause: error, fatal });
        if (fatal) failure = failed;
        throw failed;
      }
      const output = results[MODEL_OUTPUT]!;
      try {
        const [rows, width] = output.dims;
        if (output.type !== 'float32' || output.dims.length !== 2 || rows !== batch.length || width === undefined) {
          throw new ModelRuntimeError(
            `output '${MODEL_OUTPUT}' is ${output.type} [${output.dims.join(', ')}], expected float32 [${batch.length}, labels]`,
          );
        }
        return { scores: Float32Array.from(output.data as Float32Array), width };
      } finally {
        output.dispose();
      }
    });
  const coalescer = createCoalescer({ run: runOnce, split: (batch) => runsOf(contract, batch) });
  return {
    contract,
    run: (batch, options) => coalescer.score(batch, options),
    release: () => {
      // the calls already made run first, then the release
      coalescer.flush();
      return serialised(() => session.release());
    },
    failure: () => failure,
  };
}
