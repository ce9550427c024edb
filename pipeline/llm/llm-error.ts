/**
 * A request the LLM client gave up on. `retryable` says whether the cause was transient (429,
 * 5xx, timeout, network, malformed answer) and the retries ran out, or permanent (another 4xx),
 * which retrying cannot fix. Stages decide what a failure means for their run.
 */
export type LlmErrorKind = 'http' | 'timeout' | 'network' | 'malformed';

export class LlmError extends Error {
  override name = 'LlmError';
  readonly kind: LlmErrorKind;
  /** HTTP status, when the server answered. */
  readonly status: number | null;
  readonly retryable: boolean;

  constructor(message: string, details: { kind: LlmErrorKind; status?: number | null; retryable: boolean; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.kind = details.kind;
    this.status = details.status ?? null;
    this.retryable = details.retryable;
  }

  /** True for answers that say the whole configuration is wrong (key, permission, model, URL). */
  get fatal(): boolean {
    return this.status === 401 || this.status === 403 || this.status === 404;
  }
}
