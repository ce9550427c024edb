/**
 * POST /v1/classify: `{ prompt, response? }` or `{ items: [...] }` (up to 64) ->
 * `{ model: { version }, results: [{ score, flagged, categories }] }`. With a response, the score
 * is the harmfulness of the response in the context of the prompt (HarmAug's semantics).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { verdictOf } from '../guard/classifier.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { MAX_ITEMS, TextSchema } from '../http/limits.ts';
import { readJson, validate } from '../http/read-json.ts';
import { scoreRequest, serveModel } from '../http/serve-model.ts';

const ItemSchema = z.strictObject({ prompt: TextSchema, response: TextSchema.optional() });
const BatchSchema = z.strictObject({ items: z.array(ItemSchema).min(1, 'must hold at least one item').max(MAX_ITEMS) });

/** A request body is one item, or a batch when it has `items`. */
function parseItems(body: unknown) {
  const isBatch = typeof body === 'object' && body !== null && 'items' in body;
  const items = isBatch ? validate(BatchSchema, body).items : [validate(ItemSchema, body)];
  return items.map((item) => ({ prompt: item.prompt, response: item.response ?? null }));
}

/** @param registry where the serving model comes from */
export function createClassifyRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().post('/v1/classify', async (c) => {
    const inputs = parseItems(await readJson(c));
    const model = await serveModel(c, registry);
    const items = await scoreRequest(c, model, inputs);
    const { manifest } = model;
    return c.json({
      model: { version: manifest.version },
      results: items.map(({ scores }) => {
        const { score, flagged, categories } = verdictOf(manifest, scores);
        return { score, flagged, categories };
      }),
    });
  });
}
