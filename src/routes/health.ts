/**
 * GET /healthz: 200 once a model is loaded (loading it if needed), with the last failed load if
 * any (`lastLoadError`: why the version the pointer names is not serving), the shadow candidate and
 * every loaded version; else 503 `model_unavailable` with the reason. GET /: the service's name
 * and endpoints, without touching the model.
 */
import { Hono } from 'hono';
import type { ModelRegistry } from '../guard/registry.ts';
import { wasmMemoryBytes } from '../guard/runtime.ts';
import type { AppEnv } from '../http/app-env.ts';
import { loadErrors, serveModel } from '../http/serve-model.ts';

/** @param registry where the serving model comes from */
export function createHealthRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>()
    .get('/', (c) =>
      c.json({
        name: 'edgeguard',
        endpoints: ['POST /v1/moderations', 'POST /v1/classify', 'GET /v1/models', 'POST /v1/chat/completions', 'GET /healthz'],
      }),
    )
    .get('/healthz', async (c) => {
      const { manifest, loadedAt, loadMs } = await serveModel(c, registry);
      const status = registry.status();
      return c.json({
        status: 'ok',
        model: { version: manifest.version, loadedAt: new Date(loadedAt).toISOString(), loadMs },
        wasmMemoryBytes: wasmMemoryBytes(),
        // a newer version that failed its checks while this one kept serving
        lastLoadError: registry.lastError(),
        loadErrors: loadErrors(status),
        candidate: status.candidate ? { version: status.candidate.manifest.version } : null,
        loaded: status.loaded.map((model) => model.manifest.version),
      });
    });
}
