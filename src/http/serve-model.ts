/**
 * The model a request is served with: loaded through the registry, refused with 503
 * `model_unavailable` when there is none, and named in the response (`x-edgeguard-model`, plus a
 * `load` server-timing entry when this request paid for loading it).
 */
import type { Context } from 'hono';
import { setMetric } from 'hono/timing';
import { GuardError } from '../errors.ts';
import { ModelUnavailableError, type LoadedModel, type ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from './app-env.ts';

/** Header naming the model version on every response once a model is loaded. */
export const MODEL_HEADER = 'x-edgeguard-model';

/**
 * @throws GuardError 503 model_unavailable, with the registry's reason
 */
export async function serveModel(c: Context<AppEnv>, registry: ModelRegistry): Promise<LoadedModel> {
  const started = Date.now();
  let model: LoadedModel;
  try {
    if (!c.env?.MODELS) throw new ModelUnavailableError('no R2 bucket bound as MODELS');
    model = await registry.get(c.env.MODELS);
  } catch (error) {
    if (error instanceof ModelUnavailableError) throw new GuardError(503, 'model_unavailable', error.message, { cause: error });
    throw error;
  }
  if (model.loadedAt >= started) setMetric(c, 'load', model.loadMs, 'model load (incl. ORT start-up)');
  c.header(MODEL_HEADER, model.manifest.version);
  return model;
}
