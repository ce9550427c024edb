/**
 * `/v1/classify` as data, for the HTTP route and the service binding alike: the body it takes
 * (`{ prompt, response? }` or `{ items: [...] }`, up to 64; `model` pins a version) and the answer
 * it gives from the scoring core's result. Scores are raw; `flagged` applies the policy (the API
 * key's thresholds, else the model's), or is the teacher's verdict when the cascade escalated the
 * text: `decidedBy` says which, and `teacher` what the teacher said (or why it said nothing)
 * whenever it was asked. A caller that fails open gets `model: null`, `score: null` results and
 * `unavailable` when no model can score.
 */
import { z } from 'zod';
import type { ClassifyResponse } from '../client/types.ts';
import type { ClassifyInput } from '../guard/classifier.ts';
import type { Scoring } from '../guard/scoring.ts';
import { MAX_ITEMS, TextSchema } from '../http/limits.ts';
import { validate } from '../http/read-json.ts';

const ItemSchema = z.strictObject({ prompt: TextSchema, response: TextSchema.optional() });
/** `model` pins a deployed version (default: the current one). */
const ModelField = { model: z.string().max(256).optional() };
const SingleSchema = ItemSchema.extend(ModelField);
const BatchSchema = z.strictObject({ items: z.array(ItemSchema).min(1, 'must hold at least one item').max(MAX_ITEMS), ...ModelField });

/**
 * The texts of a classify body, and the version it pins. A body is one item, or a batch when it has `items`.
 * @throws GuardError 400 (`invalid_request` naming the field, `text_too_long`, `too_many_items`, `lone_surrogate`)
 * @example classifyRequest({ prompt: 'hi' }) // { inputs: [{ prompt: 'hi', response: null }], model: undefined }
 */
export function classifyRequest(body: unknown): { inputs: ClassifyInput[]; model: string | undefined } {
  const isBatch = typeof body === 'object' && body !== null && 'items' in body;
  const { items, model } = isBatch
    ? validate(BatchSchema, body)
    : (({ model, ...item }) => ({ items: [item], model }))(validate(SingleSchema, body));
  return { model, inputs: items.map((item) => ({ prompt: item.prompt, response: item.response ?? null })) };
}

/**
 * The answer to a classify request: one result per input, or (failing open) unscored ones and why.
 * @example classifyAnswer(await scoreUnderPolicy(source, request), inputs)
 */
export function classifyAnswer(scoring: Scoring, inputs: readonly ClassifyInput[]): ClassifyResponse {
  if (!scoring.scored) {
    const results = inputs.map(() => ({ score: null, flagged: false as const, categories: {} }));
    return { model: null, results, policy: scoring.policy, unavailable: scoring.unavailable };
  }
  const { model, verdicts, policy } = scoring;
  return {
    model: { version: model.manifest.version },
    results: verdicts.map(({ score, flagged, categories, decidedBy, teacher }) => ({
      score,
      flagged,
      categories,
      decidedBy,
      ...(teacher ? { teacher } : {}),
    })),
    policy,
  };
}
