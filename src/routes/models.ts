/**
 * GET /v1/models: the serving model and its manifest summary, in the shape of OpenAI's model list
 * (so `openai.models.list()` works), plus EdgeGuard's fields on the entry.
 */
import { Hono } from 'hono';
import type { ModelRegistry } from '../guard/registry.ts';
import { wasmMemoryBytes } from '../guard/runtime.ts';
import type { AppEnv } from '../http/app-env.ts';
import { serveModel } from '../http/serve-model.ts';

/** @param registry where the serving model comes from */
export function createModelsRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().get('/v1/models', async (c) => {
    const { manifest, loadedAt } = await serveModel(c, registry);
    const created = Date.parse(manifest.createdAt);
    return c.json({
      object: 'list',
      data: [
        {
          id: manifest.version,
          object: 'model',
          created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
          owned_by: 'edgeguard',
          labels: manifest.labels,
          threshold: manifest.threshold,
          categoryThresholds: manifest.categoryThresholds,
          openaiCategories: manifest.openaiCategories,
          architecture: manifest.model,
          featurizer: manifest.featurizer,
          files: manifest.files,
          dataSources: manifest.dataSources,
          metrics: manifest.metrics,
          loadedAt: new Date(loadedAt).toISOString(),
          wasmMemoryBytes: wasmMemoryBytes(),
        },
      ],
    });
  });
}
