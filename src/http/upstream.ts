/**
 * The guarded chat route's call to its upstream: a POST that never leaves the upstream's origin,
 * and an answer whose headers reach the client only through an allow-list.
 *
 * Redirects are handled here, not by fetch: a 307 or 308 to the same origin is followed with the
 * same method and (validated) body, at most MAX_UPSTREAM_REDIRECTS times; any other redirect,
 * above all one to another origin, answers 502 `upstream_error`, so the caller's request and the
 * upstream API key are never sent anywhere the operator did not configure.
 */
import { GuardError } from '../errors.ts';

/** Same-origin 307/308 redirects followed before giving up. */
export const MAX_UPSTREAM_REDIRECTS = 3;

/**
 * The upstream response headers a client gets: the body's type, and what OpenAI's clients read
 * (retry advice, rate limits, the model and organisation that answered). Everything else
 * (Set-Cookie, the upstream's CSP, CORS, custom headers) stays out of EdgeGuard's origin.
 */
export const UPSTREAM_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'openai-model',
  'openai-organization',
  'openai-processing-ms',
  'openai-project',
  'openai-version',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
] as const;

// The upstream's body is served from EdgeGuard's origin: whatever it holds, a browser must not
// run it or sniff it into something it can run.
const ANSWER_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'x-content-type-options': 'nosniff',
};

const upstreamError = (message: string, cause?: unknown) => new GuardError(502, 'upstream_error', message, { cause });

/** Where a redirect answer may be followed to, or why not. */
function redirectTarget(response: Response, from: string, redirects: number): string {
  if (response.status !== 307 && response.status !== 308) {
    throw upstreamError(
      `the upstream answered ${response.status}, a redirect EdgeGuard does not follow (only same-origin 307 and 308, which keep the method and body)`,
    );
  }
  const location = response.headers.get('location');
  const target = location === null ? null : URL.parse(location, from);
  if (target === null) throw upstreamError(`the upstream answered ${response.status} without a usable Location`);
  if (target.origin !== new URL(from).origin) {
    throw upstreamError(`the upstream redirected to another origin; EdgeGuard never forwards a request across origins`);
  }
  if (redirects >= MAX_UPSTREAM_REDIRECTS) throw upstreamError(`the upstream redirected more than ${MAX_UPSTREAM_REDIRECTS} times`);
  return target.href;
}

/**
 * POSTs `body` to `url`, following only same-origin 307/308 redirects (with the same body).
 * @returns the upstream's final answer, whatever its status (a 4xx or 5xx is the upstream's to give)
 * @throws GuardError 502 upstream_error when the upstream cannot be reached or redirects elsewhere
 * @example const answer = await postUpstream('https://api.openai.com/v1/chat/completions', headers, JSON.stringify(request))
 */
export async function postUpstream(url: string, headers: Headers, body: string): Promise<Response> {
  let target = url;
  for (let redirects = 0; ; redirects++) {
    let response: Response;
    try {
      response = await fetch(target, { method: 'POST', headers, body, redirect: 'manual' });
    } catch (error) {
      throw upstreamError(`upstream request failed: ${(error as Error).message}`, error);
    }
    if (response.status < 300 || response.status > 399) return response;
    await response.body?.cancel();
    target = redirectTarget(response, target, redirects);
  }
}

/**
 * The upstream's answer as the client gets it: its status and body, the allow-listed headers,
 * and headers that keep a browser from running it.
 * @example return clientAnswer(await postUpstream(url, headers, body))
 */
export function clientAnswer(upstream: Response): Response {
  const headers = new Headers(ANSWER_HEADERS);
  for (const name of UPSTREAM_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}
