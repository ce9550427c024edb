/**
 * The model a request is served with: loaded through the registry, refused with 503
 * `model_unavailable` when there is none, and named in the response (`x-edgeguard-model`, plus a
 * `load` server-timing entry when this request paid for loading it). And scoring with it under
 * the API's compute limit, with `featurize` and `inference` server-timing entries.
 */
import type { Context } from 'hono';
import { setMetric } from 'hono/timing';
import { GuardError } from '../errors.ts';
import { TooMuchTextError, scoreInputs, type ClassifyInput } from '../guard/classifier.ts';
import { ModelUnavailableError, type LoadedModel, type ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from './app-env.ts';
import { MAX_IDS_PER_REQUEST } from './limits.ts';

/** Header naming the model version on every response once a model is loaded. */
export const MODEL_HEADER = 'x-edgeguard-model';

/**
 * The serving model for this request, named in its `x-edgeguard-model` header.
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

/**
 * Scores a request's inputs with `model`, within MAX_IDS_PER_REQUEST.
 * @throws GuardError 413 too_much_text, before any inference
 */
export async function scoreRequest(c: Context<AppEnv>, model: LoadedModel, inputs: ClassifyInput[]) {
  try {
    const { items, timing } = await scoreInputs(model, inputs, { maxIds: MAX_IDS_PER_REQUEST });
    setMetric(c, 'featurize', timing.featurizeMs);
    setMetric(c, 'inference', timing.inferenceMs, `${timing.windows} windows in ${timing.runs} runs`);
    return items;
  } catch (error) {
    if (error instanceof TooMuchTextError) {
      throw new GuardError(413, 'too_much_text', `${error.message}; send fewer or shorter texts per request`, { cause: error });
    }
    throw error;
  }
}
