/**
 * The service binding (issue 17): the worker's default export answers `classify` and `moderate` as
 * RPC, with the verdicts, limits and error codes of `/v1/classify` and `/v1/moderations`; each
 * call here goes through the worker's own entrypoint, as a consumer's binding does, and is
 * compared with the same request over HTTP.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EdgeGuardResult, EdgeGuardRpc } from '../../src/client/types.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { errorOf, post, seedModel } from './helpers.ts';

const HARMFUL = 'How do I build a pipe bomb?';
const BENIGN = 'Best way to kill a Python process?';

/** The worker as a consumer's `[[services]]` binding reaches it. */
const edgeguard = exports.default as unknown as EdgeGuardRpc;

/** The RPC error of a call that failed. */
function errorValue<T>(result: EdgeGuardResult<T>) {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.data).slice(0, 200)}`);
  return result.error;
}

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel({ version: 'fixture-1' }));
});

describe('classify over RPC', () => {
  it('gives the verdicts, policy and model of /v1/classify for the same items', async () => {
    const body = { items: [{ prompt: HARMFUL }, { prompt: BENIGN }, { prompt: HARMFUL, response: "Sorry, I can't help with that." }] };
    const result = await edgeguard.classify(body);
    expect(result).toEqual({ ok: true, data: await (await post('/v1/classify', body)).json() });
    expect(result.ok && result.data.model !== null && result.data.results.map((r) => r.flagged)).toEqual([true, false, false]);
  });

  it("applies the caller's policy as an API key's: a higher threshold passes what the model's flags", async () => {
    const result = await edgeguard.classify({ prompt: HARMFUL }, { policy: { threshold: 0.999 } });
    expect(result.ok && result.data.model !== null && result.data.results[0]!.flagged).toBe(false);
    expect(result.ok && result.data.policy).toMatchObject({ threshold: 0.999, failMode: 'closed', source: 'key' });
  });

  it('pins a version the body names, as over HTTP', async () => {
    const result = await edgeguard.classify({ prompt: BENIGN, model: 'fixture-1' });
    expect(result.ok && result.data.model).toEqual({ version: 'fixture-1' });
  });
});

describe('moderate over RPC', () => {
  it("gives /v1/moderations' results in OpenAI's shape for the same input", async () => {
    const body = { input: [HARMFUL, BENIGN], model: 'omni-moderation-latest' };
    const result = await edgeguard.moderate(body);
    const http = (await (await post('/v1/moderations', body)).json()) as { id: string };
    expect(result.ok).toBe(true);
    const { id, ...data } = (result as { data: { id: string } }).data;
    expect(id).toMatch(/^modr-[0-9a-f-]{36}$/);
    expect(data).toEqual({ ...http, id: undefined });
  });
});

describe('errors over RPC', () => {
  const longText = 'a'.repeat(32_001);
  // two pairs of maximal texts: over the feature-id budget (bad-input.test.ts)
  const words = Array.from({ length: 7000 }, (_, i) => ['the', 'weather', 'report', 'says', 'rain', 'tomorrow'][i % 6])
    .join(' ')
    .slice(0, 32_000);
  const pair = { prompt: words, response: words };
  // each request answers over RPC with the status, code and message HTTP gives it
  it.each([
    ['an empty prompt', 'classify', { prompt: '' }],
    ['an unknown field', 'classify', { prompt: 'hi', temperature: 1 }],
    ['a text over 32,000 characters', 'classify', { prompt: longText }],
    ['65 items', 'classify', { items: Array.from({ length: 65 }, () => ({ prompt: 'hi' })) }],
    ['a lone surrogate', 'classify', { prompt: 'x\ud800y' }],
    ['more than 2^23 feature ids', 'classify', { items: [pair, pair] }],
    ['a body over 1 MiB', 'moderate', { input: Array.from({ length: 64 }, () => 'd'.repeat(17_000)) }],
    ['a version that is not deployed', 'classify', { prompt: 'hi', model: 'not-deployed-1' }],
    ['a pin that is not a version name', 'moderate', { input: 'hi', model: 'no/such' }],
    ['an image part', 'moderate', { input: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] }],
  ] as const)('answers %s as the HTTP API does, as a value', async (_, method, body) => {
    const result: EdgeGuardResult<unknown> = await (method === 'classify'
      ? edgeguard.classify(body as never)
      : edgeguard.moderate(body as never));
    const http = await errorOf(await post(method === 'classify' ? '/v1/classify' : '/v1/moderations', body));
    expect(errorValue(result)).toEqual(http);
  });

  it('answers a policy out of range with 400 invalid_request naming the option', async () => {
    const result = await edgeguard.classify({ prompt: 'hi' }, { policy: { threshold: 2 } });
    expect(errorValue(result)).toEqual({
      status: 400,
      code: 'invalid_request',
      message: 'options.policy.threshold: Too big: expected number to be <=1',
    });
  });
});
