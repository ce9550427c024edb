/**
 * `edgeguard/hono`: `guard()` for any Hono app, scoring in a deployed EdgeGuard worker through a
 * service binding (`serviceBinding()`) or over its HTTP API (`httpApi()`). Neither loads a model:
 * this entry bundles no onnxruntime. To score in the app itself, `inProcess()` is in
 * `edgeguard/hono/in-process` (a separate entry, because wrangler uploads any `.wasm` an imported
 * module names, used or not).
 * @example
 * import { Hono } from 'hono';
 * import { guard, serviceBinding } from 'edgeguard/hono';
 *
 * const app = new Hono();
 * app.post('/v1/chat/completions', guard({ failMode: 'closed', scorer: serviceBinding('EDGEGUARD') }), handler);
 */
export { CONVERSATION_PATH, chatCompletionInputs, guard } from '../middleware/guard.ts';
export type { GuardInput, GuardOptions, GuardVerdict, ScoredVerdict } from '../middleware/guard.ts';
export { RESPONSE_CHECK_CHARS } from '../middleware/moderate-answer.ts';
export type { ResponseModeration } from '../middleware/moderate-answer.ts';
export { httpApi } from '../middleware/scorers/http-api.ts';
export type { HttpApiOptions } from '../middleware/scorers/http-api.ts';
export { serviceBinding } from '../middleware/scorers/service-binding.ts';
export type { GuardScore, GuardScoreRequest, GuardScorer } from '../middleware/scorers/scorer.ts';
export { CHECK_EVERY_RANGE, DEFAULT_CHECK_EVERY } from '../middleware/stream-moderation.ts';
export { GuardError, errorBody } from '../errors.ts';
export type { ErrorCode } from '../errors.ts';
