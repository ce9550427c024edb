/**
 * POST /v1/chat/completions: the example guarded route. `guard()` checks the last user message;
 * a prompt below the threshold is forwarded to `${UPSTREAM_URL}/chat/completions` (any
 * OpenAI-compatible API, with the caller's Authorization header) and the answer streamed back.
 * Without UPSTREAM_URL a passing prompt gets 501 `upstream_not_configured`, naming its score.
 */
import { Hono } from 'hono';
import { GuardError } from '../errors.ts';
import type { ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { guard } from '../middleware/guard.ts';

const FORWARDED_HEADERS = ['authorization', 'content-type', 'accept', 'openai-organization', 'openai-project'];

/** @param registry where the guard's model comes from */
export function createChatRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().post('/v1/chat/completions', guard<AppEnv>({ failMode: 'closed', registry }), async (c) => {
    const upstream = c.env.UPSTREAM_URL?.trim();
    if (!upstream) {
      const verdict = c.var.guard;
      const score = verdict.outcome === 'allowed' ? `P(harmful) ${verdict.score.toFixed(3)}` : verdict.outcome;
      throw new GuardError(501, 'upstream_not_configured', `the prompt passed the guard (${score}) but UPSTREAM_URL is not set, so there is no model to answer it`);
    }
    const headers = new Headers();
    for (const name of FORWARDED_HEADERS) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    let response: Response;
    try {
      response = await fetch(`${upstream.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers,
        body: await c.req.text(),
      });
    } catch (error) {
      throw new GuardError(502, 'upstream_error', `upstream request failed: ${(error as Error).message}`, { cause: error });
    }
    // A new Response: the upstream's headers are immutable, and ours (model, timing) are added.
    return new Response(response.body, response);
  });
}
