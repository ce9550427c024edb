/**
 * GET /v1/models: the serving model and its manifest summary, in the shape of OpenAI's model list
 * (so `openai.models.list()` works), plus EdgeGuard's fields on the entry. After it, the shadow
 * candidate and any other version the isolate holds loaded (pinned or replaced ones), each with
 * its `role`; `loadErrors` says why a version a pointer names is not serving. An entry's `metrics`
 * leave out chart data (curves, histograms): its `report` page draws them.
 */
import { Hono } from 'hono';
import type { LoadedModel, ModelRegistry } from '../guard/registry.ts';
import { wasmMemoryBytes } from '../guard/runtime.ts';
import type { AppEnv } from '../http/app-env.ts';
import { loadErrors, serveModel } from '../http/serve-model.ts';
import { withoutChartData } from '../report/eval-metrics.ts';

function entry({ manifest, loadedAt }: LoadedModel, role: 'current' | 'candidate' | 'loaded') {
  const created = Date.parse(manifest.createdAt);
  return {
    id: manifest.version,
    object: 'model',
    created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
    owned_by: 'edgeguard',
    role,
    labels: manifest.labels,
    threshold: manifest.threshold,
    categoryThresholds: manifest.categoryThresholds,
    openaiCategories: manifest.openaiCategories,
    architecture: manifest.model,
    featurizer: manifest.featurizer,
    files: manifest.files,
    dataSources: manifest.dataSources,
    // the numbers; curves and histograms are drawn by the report page
    metrics: withoutChartData(manifest.metrics),
    report: `/v1/models/${manifest.version}/report`,
    loadedAt: new Date(loadedAt).toISOString(),
    wasmMemoryBytes: wasmMemoryBytes(),
  };
}

/** @param registry where the serving model comes from */
export function createModelsRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().get('/v1/models', async (c) => {
    const served = await serveModel(c, registry, undefined, { settings: c.var.apiKey?.settings });
    const status = registry.status();
    const role = (model: LoadedModel) => (model === status.current ? 'current' : model === status.candidate ? 'candidate' : 'loaded');
    const rest = status.loaded
      .filter((model) => model !== served)
      .sort((a, b) => Number(b === status.candidate) - Number(a === status.candidate));
    return c.json({
      object: 'list',
      data: [served, ...rest].map((model) => entry(model, role(model))),
      loadErrors: loadErrors(status),
    });
  });
}
