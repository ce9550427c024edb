/**
 * GET /healthz: 200 once a model is loaded (loading it if needed), with whether the API runs open
 * or requires keys (`auth`) and the serving version; else 503 `model_unavailable` with the reason.
 * While the API runs open, or for a caller with a valid key, also the last failed load if any
 * (`lastLoadError`: why the version the pointer names is not serving), WASM memory, the shadow
 * candidate and every loaded version (pinned ones included); an anonymous caller of a keyed API
 * sees only what serves. GET /: the service's name and endpoints, without touching the model.
 * Neither needs an API key.
 */
import { Hono } from 'hono';
import { AuthUnavailableError, sharedKeyStore, type AuthMode, type KeyStore } from '../auth/key-store.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import { wasmMemoryBytes } from '../guard/runtime.ts';
import type { AppEnv } from '../http/app-env.ts';
import { loadErrors, serveModel } from '../http/serve-model.ts';

/** Whether the API requires keys, for /healthz; `unavailable` when KV cannot say. */
async function authMode(keys: KeyStore, kv: KVNamespace | undefined): Promise<AuthMode | 'unavailable'> {
  try {
    return await keys.mode(kv);
  } catch (error) {
    if (error instanceof AuthUnavailableError) return 'unavailable';
    throw error;
  }
}

/**
 * @param registry where the serving model comes from
 * @param keys where API keys are looked up (default: the isolate's shared key store)
 */
export function createHealthRoute(registry: ModelRegistry, keys: KeyStore = sharedKeyStore()) {
  return new Hono<AppEnv>()
    .get('/', (c) =>
      c.json({
        name: 'edgeguard',
        endpoints: ['POST /v1/moderations', 'POST /v1/classify', 'GET /v1/models', 'POST /v1/chat/completions', 'GET /healthz'],
      }),
    )
    .get('/healthz', async (c) => {
      // what serves: a pin header is not followed here
      const { manifest, loadedAt, loadMs } = await serveModel(c, registry, undefined, { pinning: false });
      const auth = await authMode(keys, c.env?.API_KEYS);
      const serving = {
        status: 'ok',
        // 'open': no API key configured, anyone may call /v1/*; 'keys': a key is required
        auth,
        model: { version: manifest.version, loadedAt: new Date(loadedAt).toISOString(), loadMs },
      };
      // what else is loaded, and what failed to, is for key holders once keys exist
      if (auth !== 'open' && !c.var.apiKey) return c.json(serving);
      const status = registry.status();
      return c.json({
        ...serving,
        wasmMemoryBytes: wasmMemoryBytes(),
        // a newer version that failed its checks while this one kept serving
        lastLoadError: registry.lastError(),
        loadErrors: loadErrors(status),
        candidate: status.candidate ? { version: status.candidate.manifest.version } : null,
        loaded: status.loaded.map((model) => model.manifest.version),
      });
    });
}
