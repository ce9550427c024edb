/**
 * When to retry and how long to wait: exponential backoff with jitter, unless the server said how
 * long (`retry-after-ms`, as OpenAI sends, or the standard `Retry-After` in seconds or as a date).
 * Pure functions, so the policy is tested without a clock.
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** First delay before jitter (default 500 ms); doubles with every attempt. */
  baseMs: number;
  /** Largest computed delay (default 30 s). */
  maxMs: number;
  /** Largest server-requested delay we honour (default 5 min); longer ones are cut to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 300_000 };

/** Statuses worth another try: timeouts, rate limits, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The delay a server asked for, in ms, or null when it asked nothing (or nonsense).
 * @example retryAfterMs(new Headers({ 'retry-after': '2' })) // 2000
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * How long to wait before retry number `attempt` (0 for the first retry). A server's hint wins,
 * with up to 10% added so that clients told the same moment do not all return at once; otherwise
 * "equal jitter": half the exponential delay plus a random half.
 * @param random a number in [0, 1), injectable for tests
 */
export function backoffMs(
  attempt: number,
  hintMs: number | null,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random(),
): number {
  if (hintMs !== null) {
    const hint = Math.min(hintMs, options.maxRetryAfterMs);
    return hint + random * Math.min(1000, hint * 0.1);
  }
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
  return exp / 2 + (random * exp) / 2;
}
