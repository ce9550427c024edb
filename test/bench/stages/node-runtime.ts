/**
 * src/guard/runtime.ts in Node, as workerd runs it: a module hook answers its
 * `import ORT_WASM from 'onnxruntime-web/ort-wasm-simd-threaded.wasm'` with that file compiled to a
 * `WebAssembly.Module` (what wrangler uploads), so the benchmarks time the worker's own code and
 * WASM with Node's clock, which (unlike workerd's) advances during CPU work.
 */
import { registerHooks } from 'node:module';

const WASM_SPECIFIER = 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
const WASM_URL = 'edgeguard-bench:ort-wasm';

let hooked = false;

function hook(): void {
  if (hooked) return;
  const file = new URL(import.meta.resolve(WASM_SPECIFIER));
  registerHooks({
    resolve: (specifier, context, next) =>
      specifier === WASM_SPECIFIER ? { url: WASM_URL, shortCircuit: true } : next(specifier, context),
    load: (url, context, next) =>
      url === WASM_URL
        ? {
            format: 'module',
            shortCircuit: true,
            source: `import { readFileSync } from 'node:fs';\nexport default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(file.href)})));\n`,
          }
        : next(url, context),
  });
  hooked = true;
}

/**
 * The worker's runtime module, loaded in this Node process.
 * @example const { createSession } = await nodeRuntime();
 */
export async function nodeRuntime(): Promise<typeof import('../../../src/guard/runtime.ts')> {
  hook();
  return import('../../../src/guard/runtime.ts');
}
