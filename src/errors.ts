/**
 * The worker's one HTTP error: a status, a stable machine-readable `code` and a message, sent as
 * OpenAI-style JSON `{ "error": { "code", "message" } }`. It extends Hono's HTTPException, so any
 * Hono app (not only ours) answers it with the right status and body.
 */
import { HTTPException } from 'hono/http-exception';
import type { ClientErrorStatusCode, ServerErrorStatusCode } from 'hono/utils/http-status';

/** Every code the API can answer with; clients may switch on these. */
export const ERROR_CODES = [
  'invalid_json',
  'invalid_utf8',
  'invalid_request',
  'unsupported_content',
  'lone_surrogate',
  'unsupported_media_type',
  'payload_too_large',
  'text_too_long',
  'too_many_items',
  'too_much_text',
  'missing_api_key',
  'invalid_api_key',
  'rate_limited',
  'auth_unavailable',
  'not_found',
  'method_not_allowed',
  'content_blocked',
  'model_unavailable',
  'model_not_found',
  'upstream_not_configured',
  'upstream_error',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The JSON body of every error response. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * An error the caller sees as-is. 4xx for the caller's mistakes, 5xx for ours.
 * @example throw new GuardError(415, 'unsupported_media_type', 'send content-type: application/json')
 */
export class GuardError extends HTTPException {
  override name = 'GuardError';
  readonly code: ErrorCode;
  /** Extra response headers (`retry-after`, `www-authenticate`). */
  readonly headers: Record<string, string>;

  constructor(
    status: ClientErrorStatusCode | ServerErrorStatusCode,
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(status, { message, cause: options?.cause });
    this.code = code;
    this.headers = options?.headers ?? {};
  }

  override getResponse(): Response {
    return Response.json(errorBody(this.code, this.message), { status: this.status, headers: this.headers });
  }
}
