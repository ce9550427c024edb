/**
 * POST /v1/classify: `{ prompt, response? }` or `{ items: [...] }` (up to 64) ->
 * `{ model: { version }, results: [{ score, flagged, categories }], policy }`. `model` in the body
 * (or the `x-edgeguard-model` header) pins a deployed version. With a response, the score
 * is the harmfulness of the response in the context of the prompt (HarmAug's semantics).
 * The request and answer are api/classify.ts's, shared with the service binding.
 */
import { Hono } from 'hono';
import { classifyAnswer, classifyRequest } from '../api/classify.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readJson } from '../http/read-json.ts';
import { scoreApiRequest } from '../http/serve-model.ts';

/** @param registry where the serving model comes from */
export function createClassifyRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().post('/v1/classify', async (c) => {
    const { inputs, model } = classifyRequest(await readJson(c));
    return c.json(classifyAnswer(await scoreApiRequest(c, registry, c.var.apiKey?.settings, inputs, model), inputs));
  });
}
