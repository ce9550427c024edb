/**
 * Scoring a route's inputs under the caller's policy: the model (current or pinned) scores them
 * and the API key's thresholds decide; when no model can score (none loaded, R2 unreachable, a
 * model failing at load or at run), the key's fail mode decides between 503 `model_unavailable`
 * (`closed`, the default) and an unscored 200 (`open`).
 */
import type { Context } from 'hono';
import type { ClassifyInput, ItemScores } from '../guard/classifier.ts';
import { applyPolicy, unscoredPolicy, type AppliedPolicy, type UnscoredPolicy } from '../guard/policy.ts';
import type { LoadedModel, ModelRegistry } from '../guard/registry.ts';
import { GuardError } from '../errors.ts';
import type { AppEnv } from './app-env.ts';
import { scoreRequest, serveModel, shadowRequest } from './serve-model.ts';

/** The inputs scored by `model`, decided under `policy`. */
export interface Scored {
  scored: true;
  model: LoadedModel;
  items: ItemScores[];
  policy: AppliedPolicy;
}

/** No model could score and the key fails open: the caller gets `unavailable` instead of scores. */
export interface Unscored {
  scored: false;
  unavailable: { code: 'model_unavailable'; message: string };
  policy: UnscoredPolicy;
}

/** Response header set on an unscored (failed-open) answer, so proxies and logs can see it. */
export const UNSCORED_HEADER = 'x-edgeguard-unscored';

/**
 * Scores `inputs` for a route, then shadows them (see shadowRequest).
 * @param requested the body's `model` (a pinned version), if any
 * @throws GuardError as serveModel and scoreRequest do; 503 model_unavailable only when the
 *   caller's fail mode is `closed`
 * @example
 * const outcome = await scoreUnderPolicy(c, registry, [{ prompt: 'hi', response: null }]);
 * if (outcome.scored) verdictOf(outcome.model.manifest, outcome.items[0].scores, outcome.policy.threshold);
 */
export async function scoreUnderPolicy(
  c: Context<AppEnv>,
  registry: ModelRegistry,
  inputs: ClassifyInput[],
  requested?: string,
): Promise<Scored | Unscored> {
  const settings = c.var.apiKey?.settings;
  let model: LoadedModel;
  let items: ItemScores[];
  try {
    model = await serveModel(c, registry, requested);
    items = await scoreRequest(c, model, inputs);
  } catch (error) {
    if (!(error instanceof GuardError && error.code === 'model_unavailable' && settings?.failMode === 'open')) throw error;
    c.header(UNSCORED_HEADER, 'model_unavailable');
    return { scored: false, unavailable: { code: 'model_unavailable', message: error.message }, policy: unscoredPolicy(settings) };
  }
  shadowRequest(c, registry, model, inputs, items);
  return { scored: true, model, items, policy: applyPolicy(model.manifest, settings) };
}
