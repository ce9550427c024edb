/**
 * The API's wire types, one set for every way of calling EdgeGuard: HTTP (`/v1/classify`,
 * `/v1/moderations`, through `createClient()`) and the service binding's RPC methods (`classify`,
 * `moderate`). The worker builds its answers as these types (src/api/), so the compiler holds the
 * two to one contract. Types only: importing them costs a consumer's bundle nothing.
 */
import type { ErrorCode } from '../errors.ts';
import type { AppliedPolicy, PolicySettings, UnscoredPolicy } from '../guard/policy.ts';

export type { AppliedPolicy, PolicySettings, UnscoredPolicy };

/** One prompt, or a prompt and the response to judge in its context (HarmAug's pairs). */
export interface ClassifyItem {
  prompt: string;
  response?: string;
}

/**
 * The body of `POST /v1/classify` (and the RPC `classify`): one item, or up to 64 as `items`.
 * `model` pins a deployed version the caller may pin (default: the current model).
 */
export type ClassifyRequest = (ClassifyItem & { model?: string }) | { items: ClassifyItem[]; model?: string };

/** A label's score and whether it reaches its threshold. */
export interface LabelVerdict {
  score: number;
  flagged: boolean;
}

/** What the teacher said about one text when the cascade asked it, or why it said nothing. */
export type TeacherOutcome =
  | { unsafe: boolean; score?: number; categories: string[]; codes: string[]; latencyMs: number }
  | { error: string; message: string; latencyMs: number };

/**
 * The verdict on one item: `score` is P(harmful) (the model's first label); `categories` every
 * other label the model reports; `decidedBy` whether the student or the teacher (the cascade)
 * decided, and `teacher` what the teacher said whenever it was asked.
 */
export interface ClassifyResult {
  score: number;
  flagged: boolean;
  categories: Record<string, LabelVerdict>;
  decidedBy: 'student' | 'teacher';
  teacher?: TeacherOutcome;
}

/** Why nothing was scored: no model could, and the caller fails open. */
export interface Unavailable {
  code: 'model_unavailable';
  message: string;
}

/** A scored `/v1/classify` answer: one result per item, in order, under `policy`. */
export interface ScoredClassifyResponse {
  model: { version: string };
  results: ClassifyResult[];
  policy: AppliedPolicy;
}

/** A `/v1/classify` answer to a caller that fails open when no model can score: nothing scored, nothing flagged. */
export interface UnscoredClassifyResponse {
  model: null;
  results: { score: null; flagged: false; categories: Record<string, never> }[];
  policy: UnscoredPolicy;
  unavailable: Unavailable;
}

export type ClassifyResponse = ScoredClassifyResponse | UnscoredClassifyResponse;

/**
 * The body of `POST /v1/moderations` (and the RPC `moderate`), OpenAI's: a string, strings (one
 * result each, up to 64) or text parts (one result). `omni-moderation-*` / `text-moderation-*`
 * mean the current model; another `model` pins a version.
 */
export interface ModerationRequest {
  input: string | string[] | { type: 'text'; text: string }[];
  model?: string;
}

/**
 * One result in OpenAI's shape, plus `score` (the student's P(harmful)) and `decidedBy` (who
 * decided: the student, or the teacher in the cascade); categories no label maps to are left out.
 */
export interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
  category_applied_input_types: Record<string, string[]>;
  score: number;
  decidedBy: 'student' | 'teacher';
}

export interface ScoredModerationResponse {
  id: string;
  /** The EdgeGuard model version that scored. */
  model: string;
  results: ModerationResult[];
  policy: AppliedPolicy;
}

export interface UnscoredModerationResponse {
  id: string;
  model: null;
  results: {
    flagged: false;
    categories: Record<string, never>;
    category_scores: Record<string, never>;
    category_applied_input_types: Record<string, never>;
    score: null;
  }[];
  policy: UnscoredPolicy;
  unavailable: Unavailable;
}

export type ModerationResponse = ScoredModerationResponse | UnscoredModerationResponse;

/**
 * Codes of failures on the caller's side, with no answer from EdgeGuard: the attempt timed out,
 * the network failed, or the answer was not the API's JSON.
 */
export type ClientErrorCode = 'timeout' | 'network_error' | 'invalid_response';

/**
 * A failure as a value: the API's `{ error: { code, message } }` with its HTTP status, or a
 * ClientErrorCode with `status: null`. `retryAfter`: seconds the server asked the caller to wait
 * (429, 503), when it said so.
 */
export interface EdgeGuardError {
  status: number | null;
  code: ErrorCode | ClientErrorCode;
  message: string;
  retryAfter?: number;
}

/** What every call gives: the answer, or the failure as a value (never a thrown error). */
export type EdgeGuardResult<T> = { ok: true; data: T } | { ok: false; error: EdgeGuardError };

/**
 * Options of the service binding's methods. A service binding carries no API key: the caller
 * states its own policy, as a key's settings would (the model's thresholds, failing closed, by
 * default).
 */
export interface RpcOptions {
  policy?: PolicySettings;
  /**
   * Whether the shadow candidate, if one is named, also scores this call (default true): `guard()`
   * turns it off for the checks of a streamed answer, one R2 write each otherwise.
   */
  shadow?: boolean;
}

/**
 * The EdgeGuard worker's RPC methods, for a consumer worker with
 * `[[services]] binding = "EDGEGUARD", service = "edgeguard"`: the same verdicts, limits and
 * errors as `/v1/classify` and `/v1/moderations`, with no network hop and no API key; errors come
 * back as values (`{ ok: false, error }`), structured-clone safe.
 */
export interface EdgeGuardRpc {
  classify(request: ClassifyRequest, options?: RpcOptions): Promise<EdgeGuardResult<ClassifyResponse>>;
  moderate(request: ModerationRequest, options?: RpcOptions): Promise<EdgeGuardResult<ModerationResponse>>;
}

/**
 * The type of the binding in a consumer's `Env`: `EDGEGUARD: EdgeGuardService`. Its `fetch` is
 * the worker's HTTP API, reached without the network (an API key is still needed once keys exist).
 * @example
 * interface Env { EDGEGUARD: EdgeGuardService }
 * const result = await env.EDGEGUARD.classify({ prompt: 'hi' });
 */
export type EdgeGuardService = EdgeGuardRpc & { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };
