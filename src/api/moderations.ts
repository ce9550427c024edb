/**
 * `/v1/moderations` as data, in OpenAI's shape, for the HTTP route and the service binding alike.
 *
 * Mapping: the manifest's `openaiCategories` says which OpenAI keys each label stands for. A key
 * gets the highest score of the labels mapped to it, and is `true` when one of them reaches its
 * threshold. Keys no label maps to are left out of `categories`, `category_scores` and
 * `category_applied_input_types`: the model has no signal for them and must not pretend to.
 * `flagged` is true when the overall P(harmful) (the first label, also returned as `score`) reaches
 * its threshold or any category is `true`, so a client that reads `flagged` as "any category" agrees.
 * The request's `model` pins a deployed EdgeGuard version; OpenAI's own names (`omni-moderation-*`,
 * `text-moderation-*`, which its clients send by default) mean the current one.
 */
import { z } from 'zod';
import type { ModerationResponse, ModerationResult } from '../client/types.ts';
import { GuardError } from '../errors.ts';
import type { FinalVerdict } from '../guard/cascade.ts';
import type { ClassifyInput } from '../guard/classifier.ts';
import type { Manifest } from '../guard/manifest.ts';
import type { Scoring } from '../guard/scoring.ts';
import { MAX_ITEMS, TextSchema } from '../http/limits.ts';
import { validate } from '../http/read-json.ts';

const RequestSchema = z.looseObject({
  input: z.union([z.string(), z.array(z.unknown())], { error: 'must be a string or an array of strings' }),
  model: z.string().max(256).optional(),
});
/** OpenAI's moderation model names: they ask for the current model. */
const OPENAI_MODEL = /^(omni|text)-moderation-/;
const StringsSchema = z.array(TextSchema).min(1, 'must hold at least one text').max(MAX_ITEMS);
const PartsSchema = z
  .array(
    z.discriminatedUnion('type', [
      z.looseObject({ type: z.literal('text'), text: TextSchema }),
      z.looseObject({ type: z.literal('image_url') }),
    ]),
  )
  .min(1, 'must hold at least one part')
  .max(MAX_ITEMS);

/**
 * OpenAI's three input forms: a string (one result), an array of strings (one result each), or
 * an array of content parts (one result for all of them; text only). An array with any string in
 * it is taken for strings, so a stray non-string is named as such.
 */
function textsOf(input: string | unknown[]): string[] {
  if (typeof input === 'string') return [validate(TextSchema, input, ['input'])];
  if (input.some((item) => typeof item === 'string')) return validate(StringsSchema, input, ['input']);
  const parts = validate(PartsSchema, input, ['input']);
  if (parts.some((part) => part.type !== 'text')) {
    throw new GuardError(400, 'invalid_request', 'input: image inputs are not supported; EdgeGuard moderates text');
  }
  return [parts.map((part) => (part as { text: string }).text).join('\n')];
}

/**
 * The texts of a moderation body, and the version it pins (none for OpenAI's model names).
 * @throws GuardError 400 (`invalid_request` naming the field, `text_too_long`, `too_many_items`, `lone_surrogate`)
 * @example moderationRequest({ input: ['a', 'b'], model: 'omni-moderation-latest' }) // two inputs, no pin
 */
export function moderationRequest(body: unknown): { inputs: ClassifyInput[]; model: string | undefined } {
  const { input, model } = validate(RequestSchema, body);
  const inputs = textsOf(input).map((prompt) => ({ prompt, response: null }));
  return { inputs, model: model && !OPENAI_MODEL.test(model) ? model : undefined };
}

/**
 * One OpenAI moderation result from one input's final verdict. `flagged` is true exactly when the
 * overall P(harmful) reaches its threshold or any category is `true`, as OpenAI's clients read it,
 * unless the teacher decided: then its verdict and the categories it named. `score` and
 * `decidedBy` (not in OpenAI's shape) are the student's P(harmful) and who decided.
 * @param manifest the model that gave the verdict: which OpenAI keys each of its labels stands for
 */
export function moderationResult(manifest: Manifest, verdict: FinalVerdict): ModerationResult {
  const categories: Record<string, boolean> = {};
  const categoryScores: Record<string, number> = {};
  const appliedTypes: Record<string, string[]> = {};
  for (const [label, { score, flagged }] of Object.entries(verdict.categories)) {
    for (const key of manifest.openaiCategories[label] ?? []) {
      categoryScores[key] = Math.max(categoryScores[key] ?? 0, score);
      categories[key] = (categories[key] ?? false) || flagged;
      appliedTypes[key] = ['text'];
    }
  }
  return {
    flagged: verdict.flagged,
    categories,
    category_scores: categoryScores,
    category_applied_input_types: appliedTypes,
    score: verdict.score,
    decidedBy: verdict.decidedBy,
  };
}

/**
 * The answer to a moderation request: one result per input, or (failing open) unflagged ones and why.
 * @example moderationAnswer(await scoreUnderPolicy(source, request), inputs)
 */
export function moderationAnswer(scoring: Scoring, inputs: readonly ClassifyInput[]): ModerationResponse {
  const id = `modr-${crypto.randomUUID()}`;
  if (!scoring.scored) {
    // failing open: nothing flagged, no category scored, and the reason
    const result = { flagged: false as const, categories: {}, category_scores: {}, category_applied_input_types: {}, score: null };
    return { id, model: null, results: inputs.map(() => result), policy: scoring.policy, unavailable: scoring.unavailable };
  }
  const { model, verdicts, policy } = scoring;
  return { id, model: model.manifest.version, results: verdicts.map((verdict) => moderationResult(model.manifest, verdict)), policy };
}
