/**
 * POST /v1/moderations in OpenAI's shape, so the official `openai` client works unchanged. The
 * request and answer (labels mapped to OpenAI's categories, pins, failing open) are
 * api/moderations.ts's, shared with the service binding; the response names the model that scored
 * and the `policy` it decided with (the API key's thresholds, else the model's).
 */
import { Hono } from 'hono';
import { moderationAnswer, moderationRequest } from '../api/moderations.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readJson } from '../http/read-json.ts';
import { scoreApiRequest } from '../http/serve-model.ts';

/** @param registry where the serving model comes from */
export function createModerationsRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().post('/v1/moderations', async (c) => {
    const { inputs, model } = moderationRequest(await readJson(c));
    return c.json(moderationAnswer(await scoreApiRequest(c, registry, c.var.apiKey?.settings, inputs, model), inputs));
  });
}
