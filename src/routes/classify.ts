/**
 * POST /v1/classify: `{ prompt, response? }` or `{ items: [...] }` (up to 64) ->
 * `{ model: { version }, results: [{ score, flagged, categories }], policy }`. `model` in the body
 * (or the `x-edgeguard-model` header) pins a deployed version. With a response, the score
 * is the harmfulness of the response in the context of the prompt (HarmAug's semantics).
 * Scores are raw; `flagged` applies `policy` (the API key's thresholds, else the model's), or is
 * the teacher's verdict when the cascade escalated the text: `decidedBy` says which, and
 * `teacher` what the teacher said (or why it said nothing) whenever it was asked. A key that fails open
 * gets `model: null`, `score: null` results and `unavailable` when no model can score.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { MAX_ITEMS, TextSchema } from '../http/limits.ts';
import { readJson, validate } from '../http/read-json.ts';
import { scoreApiRequest } from '../http/serve-model.ts';

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
    const outcome = await scoreApiRequest(c, registry, inputs, requested);
    if (!outcome.scored) {
      // failing open: nothing scored, nothing flagged, and the reason
      const results = inputs.map(() => ({ score: null, flagged: false, categories: {} }));
      return c.json({ model: null, results, policy: outcome.policy, unavailable: outcome.unavailable });
    }
    const { model, verdicts, policy } = outcome;
    return c.json({
      model: { version: model.manifest.version },
      results: verdicts.map(({ score, flagged, categories, decidedBy, teacher }) => ({ score, flagged, categories, decidedBy, ...(teacher ? { teacher } : {}) })),
      policy,
    });
  });
}
