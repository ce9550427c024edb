/**
 * POST /v1/chat/completions: the example guarded route. `guard()` checks every text of the chat
 * completion body that the model will read (every message of every role, alone and as a whole;
 * see chat-texts.ts), with the API key's threshold and fail mode if it sets them. A request
 * below the threshold is forwarded to `${UPSTREAM_URL}/chat/completions` (any OpenAI-compatible
 * API; with the caller's Authorization header while the API runs open, else the
 * `UPSTREAM_API_KEY` secret) as the body the guard validated, serialised again: never the raw
 * bytes, so a duplicated key or a field the guard did not check cannot reach the upstream. The
 * answer streams back with an allow-list of its headers (see upstream.ts); with
 * `MODERATE_RESPONSES = "stream"` a streamed answer is checked as it streams, and one that turns
 * harmful ends with `finish_reason: "content_filter"` (see guard()'s `moderateResponses`).
 * Without UPSTREAM_URL a passing request gets 501 `upstream_not_configured`, naming its score.
 */
import { Hono, type Context } from 'hono';
import { GuardError } from '../errors.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { clientAnswer, postUpstream } from '../http/upstream.ts';
import { guard } from '../middleware/guard.ts';
import { inProcess } from '../middleware/scorers/in-process.ts';

const FORWARDED_HEADERS = ['accept', 'openai-organization', 'openai-project'];

/**
 * The upstream's Authorization: the caller's own header while the API runs open; once API keys
 * are configured that header carries the EdgeGuard key, which must never leave the worker, so
 * the upstream gets the `UPSTREAM_API_KEY` secret instead (none if it is not set).
 */
function upstreamAuthorization(c: Context<AppEnv>): string | undefined {
  if (c.var.apiKey === null || c.var.apiKey === undefined) return c.req.header('authorization');
  const secret = (c.env as { UPSTREAM_API_KEY?: string }).UPSTREAM_API_KEY?.trim();
  return secret ? `Bearer ${secret}` : undefined;
}

/**
 * Whether the answer is checked as it streams: `MODERATE_RESPONSES = "stream"` in wrangler.toml [vars].
 * @throws GuardError 500 for any other value than "" or "stream" (the operator's mistake)
 */
function moderateResponses(c: Context<AppEnv>): boolean {
  const value = c.env.MODERATE_RESPONSES?.trim() ?? '';
  if (value !== '' && value !== 'stream') {
    throw new GuardError(
      500,
      'internal_error',
      `worker misconfigured: MODERATE_RESPONSES must be "" or "stream", got "${value.slice(0, 40)}"`,
    );
  }
  return value === 'stream';
}

/** @param registry where the guard's model comes from */
export function createChatRoute(registry: ModelRegistry) {
  const checked = guard<AppEnv>({
    failMode: 'closed',
    scorer: inProcess({ registry }),
    policy: (c) => c.var.apiKey?.settings,
    moderateResponses,
  });
  return new Hono<AppEnv>().post('/v1/chat/completions', checked, async (c) => {
    const upstream = c.env.UPSTREAM_URL?.trim();
    if (!upstream) {
      const verdict = c.var.guard;
      const score = verdict.outcome === 'allowed' ? `P(harmful) ${verdict.score.toFixed(3)}` : verdict.outcome;
      throw new GuardError(
        501,
        'upstream_not_configured',
        `the request passed the guard (${score}) but UPSTREAM_URL is not set, so there is no model to answer it`,
      );
    }
    const headers = new Headers({ 'content-type': 'application/json' });
    for (const name of FORWARDED_HEADERS) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    const authorization = upstreamAuthorization(c);
    if (authorization) headers.set('authorization', authorization);
    const body = JSON.stringify(c.var.chatRequest);
    return clientAnswer(await postUpstream(`${upstream.replace(/\/+$/, '')}/chat/completions`, headers, body));
  });
}
