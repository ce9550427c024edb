/**
 * `edgeguard/hono/in-process`: `inProcess()`, the scorer that runs the student model in the app's
 * own worker, from its `MODELS` R2 bucket (deploy models there with the EdgeGuard repository's
 * `npm run pipeline -- deploy`). It bundles onnxruntime-web's WASM: about 14 MB, 3.6 MB gzip, so
 * the app needs Workers Paid; `serviceBinding()` and `httpApi()` in `edgeguard/hono` need none of it.
 * Needs the optional peer dependency `onnxruntime-web`.
 * @example
 * import { guard } from 'edgeguard/hono';
 * import { inProcess } from 'edgeguard/hono/in-process';
 * app.post('/chat', guard({ failMode: 'closed', scorer: inProcess() }), handler);
 */
export { inProcess } from '../middleware/scorers/in-process.ts';
export type { InProcessOptions } from '../middleware/scorers/in-process.ts';
export { createRegistry } from '../guard/registry.ts';
export type { ModelRegistry, RegistryOptions } from '../guard/registry.ts';
