/**
 * The service binding's side of the API: `classify` and `moderate` as RPC methods, with the same
 * request checks, limits, scoring core, answers and error codes as `/v1/classify` and
 * `/v1/moderations` (api/, guard/scoring.ts), and one log line per call as the HTTP request log
 * writes (never the texts). A caller on a service binding is a worker of the same account: no API
 * key and no rate limit; it states its own policy (`options.policy`). Errors are values
 * (`{ ok: false, error: { status, code, message } }`): a thrown error would reach the caller as a
 * bare message, without its code.
 */
import { z } from 'zod';
import { classifyAnswer, classifyRequest } from '../api/classify.ts';
import { moderationAnswer, moderationRequest } from '../api/moderations.ts';
import type { ClassifyResponse, EdgeGuardResult, ModerationResponse } from '../client/types.ts';
import { GuardError } from '../errors.ts';
import type { ClassifyInput } from '../guard/classifier.ts';
import { scoreUnderPolicy, type ModelSource, type Scoring } from '../guard/scoring.ts';
import { MAX_BODY_BYTES, MAX_IDS_PER_REQUEST } from '../http/limits.ts';
import { validate } from '../http/read-json.ts';
import { asHttpError, checkedPin } from '../http/serve-model.ts';

const Probability = z.number().min(0).max(1);

/** What a caller may set of the policy: an API key's thresholds and fail mode. */
const OptionsSchema = z
  .strictObject({
    policy: z
      .strictObject({
        threshold: Probability.optional(),
        categoryThresholds: z.record(z.string().min(1).max(64), Probability).optional(),
        failMode: z.enum(['open', 'closed']).optional(),
      })
      .optional(),
    shadow: z.boolean().optional(),
  })
  .optional();

/** One RPC method: how it reads its request and shapes its answer (the HTTP route's own functions). */
interface Method<T> {
  name: 'classify' | 'moderate';
  read(body: unknown): { inputs: ClassifyInput[]; model: string | undefined };
  answer(scoring: Scoring, inputs: readonly ClassifyInput[]): T;
}

export const CLASSIFY: Method<ClassifyResponse> = { name: 'classify', read: classifyRequest, answer: classifyAnswer };
export const MODERATE: Method<ModerationResponse> = { name: 'moderate', read: moderationRequest, answer: moderationAnswer };

/**
 * The HTTP body limit for an RPC request: its JSON, as the caller would have sent it over HTTP.
 * @throws GuardError 400 for data JSON cannot hold (a BigInt, a cycle), 413 payload_too_large over 1 MiB
 */
function checkSize(body: unknown): void {
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    throw new GuardError(400, 'invalid_request', `body: not JSON data: ${(error as Error).message}`);
  }
  if (json !== undefined && new TextEncoder().encode(json).byteLength > MAX_BODY_BYTES) {
    throw new GuardError(413, 'payload_too_large', `request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
}

/**
 * Serves one RPC call: the request checked as over HTTP, scored through the scoring core, the
 * answer as over HTTP; any failure as a value with the HTTP API's status and code.
 * @param source where the model comes from (the worker's registry, bucket, vars, `waitUntil`)
 * @example return serveRpc(source, CLASSIFY, request, options)
 */
export async function serveRpc<T>(source: ModelSource, method: Method<T>, body: unknown, options: unknown): Promise<EdgeGuardResult<T>> {
  const started = Date.now();
  let scoring: Scoring | undefined;
  let result: EdgeGuardResult<T>;
  try {
    checkSize(body);
    const { inputs, model } = method.read(body);
    const { policy, shadow } = validate(OptionsSchema, options, ['options']) ?? {};
    const pin = checkedPin(model);
    const scoringSource = shadow === false ? { ...source, vars: { ...source.vars, SHADOW_SAMPLE_RATE: '0' } } : source;
    try {
      scoring = await scoreUnderPolicy(scoringSource, {
        inputs,
        pin,
        pinVersions: [],
        policy,
        maxIds: MAX_IDS_PER_REQUEST,
        route: `rpc:${method.name}`,
      });
    } catch (error) {
      throw asHttpError(error);
    }
    result = { ok: true, data: method.answer(scoring, inputs) };
  } catch (error) {
    if (!(error instanceof GuardError)) {
      const { message, stack } = error as Error;
      console.error(JSON.stringify({ level: 'error', event: 'unhandled_error', method: method.name, message, stack }));
    }
    const known = error instanceof GuardError ? error : new GuardError(500, 'internal_error', 'internal error; the request was not scored');
    result = { ok: false, error: { status: known.status, code: known.code, message: known.message } };
  }
  const scored = scoring?.scored ? scoring : null;
  const overall = scored?.model.manifest.labels[0];
  console.log(
    JSON.stringify({
      level: result.ok || result.error.status! < 500 ? 'info' : 'error',
      event: 'rpc',
      method: method.name,
      status: result.ok ? 200 : result.error.status,
      ...(result.ok ? {} : { error: result.error.code }),
      model: scored?.model.manifest.version ?? null,
      ...(scored ? { scores: scored.items.map(({ scores }) => Math.round((scores[overall!] ?? 0) * 10_000) / 10_000) } : {}),
      latencyMs: Date.now() - started,
    }),
  );
  return result;
}
