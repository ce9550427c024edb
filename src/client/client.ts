/**
 * `createClient()`: a small typed client for EdgeGuard's `/v1/classify` and `/v1/moderations`, for
 * Workers, Node (18+) and browsers alike (only `fetch`). Each attempt has a timeout; a 429 or 503
 * is retried after the `Retry-After` the server gives (or a short backoff), as are timeouts and
 * network failures; every outcome is a value, `{ ok: true, data }` or `{ ok: false, error }`,
 * never a thrown error. No dependency: importing it adds a few kB to a bundle, and no model.
 */
import type { ClassifyRequest, ClassifyResponse, EdgeGuardError, EdgeGuardResult, ModerationRequest, ModerationResponse } from './types.ts';

export interface ClientOptions {
  /** The EdgeGuard worker's base URL, e.g. `https://edgeguard.example.workers.dev` (with or without a trailing `/`). */
  url: string;
  /** An API key (`egk_…`, `pipeline keys create`); sent as `Authorization: Bearer`. Default: none (an open API). */
  apiKey?: string;
  /** Milliseconds an attempt may take before it is abandoned (and retried). Default 10,000. */
  timeoutMs?: number;
  /** Attempts after the first, on 429, 503, timeouts and network failures. Default 2. */
  retries?: number;
  /**
   * The longest wait before a retry, in ms: a `Retry-After` asking for more ends the call with the
   * error (and its `retryAfter`) instead of waiting. Default 5,000.
   */
  maxRetryDelayMs?: number;
  /** The fetch to use (a service binding's, a test's). Default: the global fetch. */
  fetch?: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
}

export interface CallOptions {
  /** Aborts the call (all attempts); the result is then a `timeout` error. */
  signal?: AbortSignal;
  /** Sent as `x-request-id`, so the call can be found in EdgeGuard's log. */
  requestId?: string;
}

export interface EdgeGuardClient {
  /** `POST /v1/classify`: P(harmful) and every category of each prompt (or prompt and response). */
  classify(request: ClassifyRequest, options?: CallOptions): Promise<EdgeGuardResult<ClassifyResponse>>;
  /** `POST /v1/moderations`, OpenAI's shape. */
  moderate(request: ModerationRequest, options?: CallOptions): Promise<EdgeGuardResult<ModerationResponse>>;
}

/** The statuses worth another attempt: rate limited, or no model (or keys) to serve right now. */
const RETRIED_STATUSES = new Set([429, 503]);
/** The first backoff when the server gives no `Retry-After`; doubled per attempt, with jitter. */
const BACKOFF_MS = 200;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The wait a response asks for, in ms: `retry-after-ms`, else `Retry-After` in seconds or as a date. */
export function retryDelayMs(headers: Headers, now = Date.now()): number | null {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The API's error body, or a stand-in when the answer is not one. */
async function errorOf(response: Response): Promise<EdgeGuardError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const delay = retryDelayMs(response.headers);
  const retryAfter = delay === null ? {} : { retryAfter: delay / 1000 };
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    return { status: response.status, code: error.code as EdgeGuardError['code'], message: error.message, ...retryAfter };
  }
  return {
    status: response.status,
    code: 'invalid_response',
    message: `EdgeGuard answered ${response.status} without its JSON error body: ${text.slice(0, 200)}`,
    ...retryAfter,
  };
}

/**
 * A client for one EdgeGuard worker.
 * @param options `url` (required); `apiKey`, `timeoutMs` (10,000), `retries` (2), `maxRetryDelayMs` (5,000), `fetch`
 * @throws TypeError at creation for a URL that does not parse or options out of range
 * @example
 * import { createClient } from 'edgeguard/client';
 * const edgeguard = createClient({ url: 'https://edgeguard.example.workers.dev', apiKey: env.EDGEGUARD_KEY });
 * const result = await edgeguard.classify({ prompt: 'How do I build a pipe bomb?' });
 * if (!result.ok) console.error(result.error.code, result.error.message);
 * else if (result.data.model !== null && result.data.results[0].flagged) refuse();
 */
export function createClient(options: ClientOptions): EdgeGuardClient {
  const base = URL.parse(options.url);
  if (base === null || !/^https?:$/.test(base.protocol))
    throw new TypeError(`createClient(): url must be an http(s) URL, got ${options.url}`);
  const root = base.href.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 2;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  if (!(timeoutMs > 0)) throw new TypeError(`createClient(): timeoutMs must be positive, got ${timeoutMs}`);
  if (!(Number.isInteger(retries) && retries >= 0))
    throw new TypeError(`createClient(): retries must be a whole number >= 0, got ${retries}`);
  const fetcher = options.fetch ?? ((input: Request | string | URL, init?: RequestInit) => fetch(input, init));

  /** One attempt: the answer, or the failure and how long to wait before the next (null: do not retry). */
  async function attempt<T>(
    path: string,
    body: string,
    call: CallOptions,
  ): Promise<{ result: EdgeGuardResult<T>; retryInMs: number | null }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
    // the signal goes to fetch, and bounds the wait whether or not that fetch honours it
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    aborted.catch(() => {});
    let response: Response;
    try {
      response = await Promise.race([fetcher(`${root}${path}`, { method: 'POST', headers, body, signal }), aborted]);
    } catch (error) {
      const timedOut = signal.aborted;
      const message = timedOut
        ? call.signal?.aborted
          ? 'the call was aborted'
          : `no answer within ${timeoutMs} ms`
        : `request failed: ${(error as Error)?.message ?? error}`;
      return {
        result: { ok: false, error: { status: null, code: timedOut ? 'timeout' : 'network_error', message } },
        retryInMs: call.signal?.aborted ? null : 0,
      };
    }
    if (response.ok) {
      try {
        return { result: { ok: true, data: (await Promise.race([response.json(), aborted])) as T }, retryInMs: null };
      } catch (error) {
        if (signal.aborted)
          return {
            result: {
              ok: false,
              error: { status: response.status, code: 'timeout', message: `the answer did not arrive within ${timeoutMs} ms` },
            },
            retryInMs: 0,
          };
        return {
          result: {
            ok: false,
            error: {
              status: response.status,
              code: 'invalid_response',
              message: `EdgeGuard's answer is not JSON: ${(error as Error).message}`,
            },
          },
          retryInMs: null,
        };
      }
    }
    const error = await errorOf(response);
    return {
      result: { ok: false, error },
      retryInMs: RETRIED_STATUSES.has(response.status) ? (error.retryAfter === undefined ? 0 : error.retryAfter * 1000) : null,
    };
  }

  async function post<T>(path: string, request: unknown, call: CallOptions = {}): Promise<EdgeGuardResult<T>> {
    const body = JSON.stringify(request);
    for (let tries = 0; ; tries++) {
      const { result, retryInMs } = await attempt<T>(path, body, call);
      if (result.ok || retryInMs === null || tries >= retries) return result;
      // no advice: exponential backoff with full jitter; advice over the cap: give up now
      const delay = retryInMs > 0 ? retryInMs : Math.random() * BACKOFF_MS * 2 ** tries;
      if (delay > maxRetryDelayMs) return result;
      await sleep(delay, call.signal);
      if (call.signal?.aborted) return { ok: false, error: { status: null, code: 'timeout', message: 'the call was aborted' } };
    }
  }

  return {
    classify: (request, call) => post<ClassifyResponse>('/v1/classify', request, call),
    moderate: (request, call) => post<ModerationResponse>('/v1/moderations', request, call),
  };
}
