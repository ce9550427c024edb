/**
 * The chat route's side of the upstream (issue 13, the lows): redirects are never followed across
 * origins (a same-origin 307/308 is, with the same validated body), and the upstream's response
 * headers reach the client only through an allow-list. The upstream is a fake `fetch`.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_UPSTREAM_REDIRECTS } from '../../src/http/upstream.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { createTestApp, emptyBucket, errorOf, scratch, seedModel } from './helpers.ts';

const UPSTREAM = 'https://upstream.test/v1/chat/completions';
const BODY = { model: 'gpt-x', messages: [{ role: 'user', content: 'Best way to kill a Python process?' }] };
const ANSWER = { id: 'chatcmpl-1', object: 'chat.completion', choices: [] };

const app = createTestApp({ bindings: { MODELS: scratch.UPSTREAM_TEST, UPSTREAM_URL: 'https://upstream.test/v1' } });
const send = () => app.post('/v1/chat/completions', BODY);
const redirect = (status: number, location: string) => new Response(null, { status, headers: { location } });

/** A fake upstream giving `answers` in turn (the last one again once they run out). */
function upstream(...answers: (() => Response)[]) {
  let call = 0;
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async () => answers[Math.min(call++, answers.length - 1)]!());
}

beforeAll(async () => {
  await emptyBucket(scratch.UPSTREAM_TEST);
  await seedModel(scratch.UPSTREAM_TEST, await buildFixtureModel({ version: 'fixture-upstream' }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('upstream redirects', () => {
  it('asks fetch not to follow redirects itself', async () => {
    const fetch = upstream(() => Response.json(ANSWER));
    expect((await send()).status).toBe(200);
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'POST', redirect: 'manual' });
  });

  it('answers 502 upstream_error for a 307 to another origin, without calling it', async () => {
    const fetch = upstream(() => redirect(307, 'https://elsewhere.test/collect'));
    expect(await errorOf(await send())).toEqual({
      status: 502,
      code: 'upstream_error',
      message: 'the upstream redirected to another origin; EdgeGuard never forwards a request across origins',
    });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('answers 502 upstream_error for a 308 to the same host on another port or scheme', async () => {
    for (const location of ['https://upstream.test:8443/v1/chat/completions', 'http://upstream.test/v1/chat/completions']) {
      const fetch = upstream(() => redirect(308, location));
      expect(await errorOf(await send())).toMatchObject({
        status: 502,
        code: 'upstream_error',
        message: expect.stringMatching(/another origin/),
      });
      expect(fetch).toHaveBeenCalledTimes(1);
      vi.restoreAllMocks();
    }
  });

  it('follows a same-origin 307 with the same method and body', async () => {
    const fetch = upstream(
      () => redirect(307, '/v2/chat/completions'),
      () => Response.json(ANSWER),
    );
    const res = await send();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(ANSWER);
    const [[firstUrl, first], [secondUrl, second]] = fetch.mock.calls as [[string, RequestInit], [string, RequestInit]];
    expect([firstUrl, secondUrl]).toEqual([UPSTREAM, 'https://upstream.test/v2/chat/completions']);
    expect(second).toMatchObject({ method: 'POST', body: first.body, redirect: 'manual' });
    expect(second.body).toBe(JSON.stringify(BODY));
  });

  it('answers 502 upstream_error for a 302, which would turn the POST into a GET', async () => {
    const fetch = upstream(() => redirect(302, '/v2/chat/completions'));
    expect(await errorOf(await send())).toMatchObject({
      status: 502,
      code: 'upstream_error',
      message: expect.stringMatching(/^the upstream answered 302, a redirect EdgeGuard does not follow/),
    });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it(`answers 502 upstream_error after ${MAX_UPSTREAM_REDIRECTS} same-origin redirects`, async () => {
    const fetch = upstream(() => redirect(307, '/v1/chat/completions'));
    expect(await errorOf(await send())).toMatchObject({
      status: 502,
      code: 'upstream_error',
      message: `the upstream redirected more than ${MAX_UPSTREAM_REDIRECTS} times`,
    });
    expect(fetch).toHaveBeenCalledTimes(MAX_UPSTREAM_REDIRECTS + 1);
  });

  it('answers 502 upstream_error for a 307 without a Location', async () => {
    upstream(() => new Response(null, { status: 307 }));
    expect(await errorOf(await send())).toMatchObject({
      status: 502,
      code: 'upstream_error',
      message: 'the upstream answered 307 without a usable Location',
    });
  });
});

describe('upstream response headers', () => {
  const headers = {
    'content-type': 'application/json',
    'openai-processing-ms': '321',
    'openai-version': '2020-10-01',
    'x-ratelimit-remaining-requests': '59',
    'retry-after': '2',
    'set-cookie': 'session=upstream; Path=/',
    'content-security-policy': "script-src 'unsafe-inline' *",
    'access-control-allow-origin': '*',
    'x-upstream-debug': 'internal-host-7',
    'x-edgeguard-model': 'forged',
  };

  it('passes the content type, OpenAI and rate-limit headers to the client', async () => {
    upstream(() => Response.json(ANSWER, { status: 429, headers }));
    const res = await send();
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(ANSWER);
    for (const name of [
      'content-type',
      'openai-processing-ms',
      'openai-version',
      'x-ratelimit-remaining-requests',
      'retry-after',
    ] as const) {
      expect(res.headers.get(name), name).toBe(headers[name]);
    }
  });

  it("keeps Set-Cookie, the upstream CSP, CORS and custom headers out of EdgeGuard's origin", async () => {
    upstream(() => Response.json(ANSWER, { headers }));
    const res = await send();
    for (const name of ['set-cookie', 'access-control-allow-origin', 'x-upstream-debug']) expect(res.headers.get(name), name).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-edgeguard-model')).toBe('fixture-upstream');
  });
});
