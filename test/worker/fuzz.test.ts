/**
 * Property-based: thousands of generated requests (bodies that are almost right, wrong types,
 * odd Unicode, lone surrogates, bytes that are not UTF-8, wrong content types and methods, random
 * headers) against the worker inside workerd. Whatever comes in, the answer is never a 5xx, is
 * always JSON with an `x-request-id`, and is either a documented error (`{ error: { code, message } }`
 * with a known code) or a well-formed result. Fixed seed: CI sees the same requests every run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ERROR_CODES } from '../../src/errors.ts';
import { MAX_BODY_BYTES, MAX_ITEMS } from '../../src/http/limits.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { addKey, createTestApp, emptyBucket, emptyNamespace, scratch, seedModel } from './helpers.ts';

const SEED = 20_260_601;
const bucket = scratch.FUZZ_TEST;
const kv = scratch.FUZZ_KEYS_TEST;
const UPSTREAM_ANSWER = { id: 'chatcmpl-fuzz', object: 'chat.completion', choices: [] };

// ---- generators ---------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const oddChar = fc.constantFrom(
  '\u200B',
  '\u200D',
  '\u202E',
  '\u2066',
  '\uFEFF',
  '\u0000',
  '\u001b',
  '\uFFFF',
  '\uFDFA',
  '💣',
  'é',
  'İ',
  '\u0301',
);
/** Texts: ordinary, any code point, with odd characters and lone surrogates, empty, long words, over-long. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), oddChar, loneSurrogate), maxLength: 30 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', 'How do I build a pipe bomb?', 'They are subhuman vermin.', 'b\u200Bomb', '\u202Ebmob'),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((n) => 'x'.repeat(n)) },
);
/** Any JSON value, for fields that expect something else. */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const textOrAny = fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: anyJson });
const modelField = fc.oneof(
  fc.constant('fuzz-1'),
  fc.constant('omni-moderation-latest'),
  fc.constant('ghost'),
  fc.string({ maxLength: 10 }),
  anyJson,
);

const classifyItem = fc.record({ prompt: textOrAny, response: textOrAny }, { requiredKeys: [] });
const classifyBody = fc.oneof(
  classifyItem,
  fc.record({ prompt: textOrAny, model: modelField, extra: anyJson }, { requiredKeys: ['prompt'] }),
  fc.record(
    { items: fc.oneof(fc.array(classifyItem, { maxLength: MAX_ITEMS + 3 }), anyJson), model: modelField },
    { requiredKeys: ['items'] },
  ),
);
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: textOrAny }),
  fc.record({ type: fc.constantFrom('image_url', 'audio', ''), image_url: anyJson }),
  anyJson,
);
const moderationBody = fc.record(
  {
    input: fc.oneof(
      text,
      fc.array(text, { maxLength: MAX_ITEMS + 3 }),
      fc.array(part, { maxLength: 5 }),
      fc.array(anyJson, { maxLength: 4 }),
      anyJson,
    ),
    model: modelField,
  },
  { requiredKeys: [] },
);
const chatBody = fc.record(
  {
    model: fc.string({ maxLength: 8 }),
    messages: fc.oneof(
      fc.array(
        fc.record(
          {
            role: fc.constantFrom('user', 'system', 'assistant', 'tool', ''),
            content: fc.oneof(text, fc.constant(null), fc.array(part, { maxLength: 3 }), anyJson),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      anyJson,
    ),
  },
  { requiredKeys: [] },
);

/** A body: mostly JSON of the route's shape, sometimes raw bytes, broken JSON or nested arrays. */
const body = (shape: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array | string> =>
  fc.oneof(
    { weight: 12, arbitrary: shape.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: shape.map((value) => JSON.stringify(value).slice(0, -1)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }).map((depth) => `{"input":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
    // around the body limit
    {
      weight: 1,
      arbitrary: fc.integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES + 4096 }).map((size) => `{"input":"${'a'.repeat(size - 12)}"}`),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(shape, fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([value, junk]) => {
        // valid JSON with non-UTF-8 bytes inside a string
        const json = new TextEncoder().encode(JSON.stringify({ prompt: 'ab', input: 'cd', value }));
        const at = json.indexOf(0x61); // the "a" of "ab"
        return Uint8Array.from([...json.subarray(0, at), ...junk.map((b) => b | 0x80), ...json.subarray(at)]);
      }),
    },
  );

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/vnd.api+json',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ),
  },
  { weight: 1, arbitrary: printable },
);

interface Generated {
  path: string;
  method: string;
  body: Uint8Array | string | null;
  headers: Record<string, string>;
}

const request: fc.Arbitrary<Generated> = fc
  .record({
    route: fc.constantFrom('/v1/classify', '/v1/moderations', '/v1/chat/completions', '/v1/models', '/healthz', '/v1/nope'),
    method: fc.oneof(
      { weight: 10, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
    ),
    contentType,
    classify: body(classifyBody),
    moderation: body(moderationBody),
    chat: body(chatBody),
    requestId: fc.option(printable),
    pin: fc.option(fc.oneof(fc.constant('fuzz-1'), printable), { freq: 8 }),
    authorization: fc.option(printable, { freq: 3 }),
  })
  .map(({ route, method, contentType, classify, moderation, chat, requestId, pin, authorization }) => {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    if (requestId !== null) headers['x-request-id'] = requestId;
    if (pin !== null) headers['x-edgeguard-model'] = pin;
    if (authorization !== null) headers.authorization = authorization;
    const get = route === '/v1/models' || route === '/healthz';
    const chosen = route === '/v1/moderations' ? moderation : route === '/v1/chat/completions' ? chat : classify;
    return {
      path: route,
      method: get && method === 'POST' ? 'GET' : method,
      body: method === 'GET' || (get && method === 'POST') ? null : chosen,
      headers,
    };
  });

// ---- what every answer must look like -----------------------------------------------------

const ErrorSchema = z.strictObject({ error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string().min(1) }) });
const Score = z.number().min(0).max(1);
const PolicySchema = z.object({
  threshold: z.number().nullable(),
  categoryThresholds: z.record(z.string(), z.number()),
  failMode: z.enum(['open', 'closed']),
  source: z.enum(['key', 'model']),
});
const ClassifySchema = z.object({
  model: z.object({ version: z.string() }),
  results: z
    .array(
      z.object({ score: Score, flagged: z.boolean(), categories: z.record(z.string(), z.object({ score: Score, flagged: z.boolean() })) }),
    )
    .min(1)
    .max(MAX_ITEMS),
  policy: PolicySchema,
});
const ModerationSchema = z.object({
  id: z.string().regex(/^modr-/),
  model: z.string(),
  results: z
    .array(z.object({ flagged: z.boolean(), categories: z.record(z.string(), z.boolean()), category_scores: z.record(z.string(), Score) }))
    .min(1)
    .max(MAX_ITEMS),
  policy: PolicySchema,
});
const SUCCESS: Record<string, z.ZodType> = {
  '/v1/classify': ClassifySchema,
  '/v1/moderations': ModerationSchema,
  '/v1/chat/completions': z.object({ id: z.literal(UPSTREAM_ANSWER.id) }),
  '/v1/models': z.object({ object: z.literal('list'), data: z.array(z.object({ id: z.string() })).min(1) }),
  '/healthz': z.object({ status: z.literal('ok'), auth: z.enum(['open', 'keys']) }),
};

/** Checks one answer; throws (failing the property) with what was wrong. */
async function check(generated: Generated, response: Response): Promise<void> {
  const why = (problem: string) => new Error(`${problem}: ${response.status} for ${generated.method} ${generated.path}`);
  if (response.status >= 500) throw why(`5xx ${await response.text()}`);
  if (!response.headers.get('x-request-id')) throw why('no x-request-id');
  const raw = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw why(`not JSON: ${raw.slice(0, 200)}`);
  }
  if (response.status >= 400) {
    const parsed = ErrorSchema.safeParse(json);
    if (!parsed.success) throw why(`not an error body: ${raw.slice(0, 200)}`);
    return;
  }
  const schema = SUCCESS[generated.path];
  if (!schema) throw why('success on a path with no result');
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw why(`malformed result ${JSON.stringify(parsed.error.issues[0])}: ${raw.slice(0, 300)}`);
}

// ---- the properties -----------------------------------------------------------------------

beforeAll(async () => {
  await emptyBucket(bucket);
  await seedModel(bucket, await buildFixtureModel({ version: 'fuzz-1' }));
  // the chat route forwards what passes the guard: answer for the upstream, offline
  vi.spyOn(globalThis, 'fetch').mockImplementation(async () => Response.json(UPSTREAM_ANSWER));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
});

afterAll(async () => {
  vi.restoreAllMocks();
  await emptyNamespace(kv);
});

const send = (app: ReturnType<typeof createTestApp>, generated: Generated) =>
  app.request(generated.path, { method: generated.method, headers: generated.headers, body: generated.body });

describe('generated requests', () => {
  it('never get a 5xx, always JSON: a known error or a well-formed result (open API, 2500 requests)', async () => {
    const app = createTestApp({ bindings: { MODELS: bucket, UPSTREAM_URL: 'https://upstream.test/v1' } });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const response = await send(app, generated);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        await check(generated, response);
      }),
      { seed: SEED, numRuns: 2500 },
    );
    // the generators reach both sides: scored requests and each kind of refusal
    expect(statuses.get(200)).toBeGreaterThan(250);
    for (const status of [400, 404, 405, 413, 415]) expect(statuses.get(status), `status ${status}`).toBeGreaterThan(0);
  }, 120_000);

  it('never get a 5xx with API keys configured, whatever the Authorization header (500 requests)', async () => {
    // a fixed key, unlimited: the same requests and answers on every run
    const key = await addKey(kv, 'fuzz', { rateLimit: 'unlimited' }, 'egk_fuzz-key-0123456789abcdefghijklmnopqrstuvwx');
    const app = createTestApp({ bindings: { MODELS: bucket, API_KEYS: kv, UPSTREAM_URL: 'https://upstream.test/v1' } });
    const withKey = fc
      .tuple(
        request,
        fc.oneof(
          fc.constant(`Bearer ${key}`),
          fc.constant(`bearer  ${key} `),
          fc.constant(key),
          printable.map((s) => `Bearer ${s}`),
          printable,
        ),
      )
      .map(([generated, authorization]) => ({
        ...generated,
        headers: { ...generated.headers, authorization },
      }));
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(withKey, async (generated) => {
        const response = await send(app, generated);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        await check(generated, response);
      }),
      { seed: SEED + 1, numRuns: 500 },
    );
    expect(statuses.get(401)).toBeGreaterThan(0);
    expect(statuses.get(200)).toBeGreaterThan(0);
  }, 120_000);
});
