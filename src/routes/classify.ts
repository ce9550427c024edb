/**
 * POST /v1/classify: `{ prompt, response? }` or `{ items: [...] }` (up to 64) ->
 * `{ model: { version }, results: [{ score, flagged, categories }] }`. `model` in the body (or the
 * `x-edgeguard-model` header) pins a deployed version. With a response, the score
 * is the harmfulness of the response in the context of the prompt (HarmAug's semantics).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { verdictOf } from '../guard/classifier.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { MAX_ITEMS, TextSchema } from '../http/limits.ts';
import { readJson, validate } from '../http/read-json.ts';
import { scoreRequest, serveModel, shadowRequest } from '../http/serve-model.ts';

const ItemSchema = z.strictObject({ prompt: TextSchema, response: TextSchema.optional() });
/** `model` pins a deployed version (default: the current one). */
const ModelField = { model: z.string().max(256).optional() };
const SingleSchema = ItemSchema.extend(ModelField);
const BatchSchema = z.strictObject({ items: z.array(ItemSchema).min(1, 'must hold at least one item').max(MAX_ITEMS), ...ModelField });

/** A request body is one item, or a batch when it has `items`. */
function parseRequest(body: unknown) {
  const isBatch = typeof body === 'object' && body !== null && 'items' in body;
  const { items, model } = isBatch ? validate(BatchSchema, body) : (({ model, ...item }) => ({ items: [item], model }))(validate(SingleSchema, body));
  return { model, inputs: items.map((item) => ({ prompt: item.prompt, response: item.response ?? null })) };
}

/** @param registry where the serving model comes from */
export function createClassifyRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().post('/v1/classify', async (c) => {
    const { inputs, model: requested } = parseRequest(await readJson(c));
    const model = await serveModel(c, registry, requested);
    const items = await scoreRequest(c, model, inputs);
    shadowRequest(c, registry, model, inputs, items);
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
