import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, MAX_IDS_PER_REQUEST, MAX_ITEMS, MAX_TEXT_CHARS } from '../../src/http/limits.ts';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { call, errorOf, post, seedModel } from './helpers.ts';

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel());
});

describe('request bodies', () => {
  it('answers malformed JSON with 400 invalid_json', async () => {
    expect(await errorOf(await post('/v1/classify', '{"prompt": "hi"'))).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('answers an empty body with 400 invalid_json', async () => {
    expect(await errorOf(await post('/v1/moderations', ''))).toMatchObject({
      status: 400,
      code: 'invalid_json',
      message: 'request body is empty',
    });
  });

  it('answers a JSON array body with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', '[1, 2]'))).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('answers text/plain with 415 unsupported_media_type', async () => {
    const res = await call('/v1/moderations', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"input":"hi"}' });
    expect(await errorOf(res)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('answers a body without content type with 415 unsupported_media_type', async () => {
    const res = await call('/v1/classify', { method: 'POST', body: new TextEncoder().encode('{"prompt":"hi"}') });
    expect(await errorOf(res)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('accepts application/json with a charset', async () => {
    const res = await post('/v1/classify', { prompt: 'hi' }, { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(200);
  });

  it('answers a body over the limit with 413 payload_too_large, by content-length', async () => {
    const body = JSON.stringify({ input: 'a'.repeat(MAX_BODY_BYTES) });
    const res = await post('/v1/moderations', body);
    expect(await errorOf(res)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('scores a streamed body under the limit', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ prompt: 'hello' }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 5));
        controller.enqueue(bytes.slice(5));
        controller.close();
      },
    });
    const res = await call('/v1/classify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream });
    expect(res.status).toBe(200);
  });

  it('answers a streamed body over the limit with 413 payload_too_large, while counting', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await call('/v1/classify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream });
    expect(await errorOf(res)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(sent).toBeLessThan(20);
  });
});

describe('POST /v1/moderations input', () => {
  it('answers a missing input with 400 invalid_request naming the field', async () => {
    expect(await errorOf(await post('/v1/moderations', { model: 'x' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^input: /),
    });
  });

  it('answers a number input with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/moderations', { input: 42 }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'input: must be a string or an array of strings',
    });
  });

  it('answers an empty string with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/moderations', { input: '' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'input: must not be empty',
    });
  });

  it('answers an empty array with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/moderations', { input: [] }))).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('answers an array holding a number with 400 invalid_request naming the item', async () => {
    expect(await errorOf(await post('/v1/moderations', { input: ['ok', 7] }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^input\[1\]/),
    });
  });

  it(`answers more than ${MAX_ITEMS} inputs with 400 too_many_items`, async () => {
    const input = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => `text ${i}`);
    expect(await errorOf(await post('/v1/moderations', { input }))).toMatchObject({ status: 400, code: 'too_many_items' });
  });

  it(`answers a text over ${MAX_TEXT_CHARS} characters with 400 text_too_long`, async () => {
    const res = await post('/v1/moderations', { input: ['ok', 'a'.repeat(MAX_TEXT_CHARS + 1)] });
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'text_too_long',
      message: `input[1]: longer than ${MAX_TEXT_CHARS} characters`,
    });
  });

  it(`scores a text of exactly ${MAX_TEXT_CHARS} characters`, async () => {
    const res = await post('/v1/moderations', { input: 'word '.repeat(MAX_TEXT_CHARS / 5) });
    expect(res.status).toBe(200);
  });
});

describe('POST /v1/classify input', () => {
  it('answers a number prompt with 400 invalid_request naming the field', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: 1 }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^prompt: /),
    });
  });

  it('answers an empty prompt with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: '' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'prompt: must not be empty',
    });
  });

  it('answers an empty response with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: 'hi', response: '' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'response: must not be empty',
    });
  });

  it('answers an unknown field with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: 'hi', respnse: 'typo' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('answers empty items with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { items: [] }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'items: must hold at least one item',
    });
  });

  it('answers a bad item with 400 naming its index', async () => {
    const res = await post('/v1/classify', { items: [{ prompt: 'ok' }, { prompt: 'ok', response: 3 }] });
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^items\[1\]\.response: /),
    });
  });

  it(`answers more than ${MAX_ITEMS} items with 400 too_many_items`, async () => {
    const items = Array.from({ length: MAX_ITEMS + 1 }, () => ({ prompt: 'hi' }));
    expect(await errorOf(await post('/v1/classify', { items }))).toMatchObject({
      status: 400,
      code: 'too_many_items',
      message: `items: more than ${MAX_ITEMS} items`,
    });
  });

  it(`scores exactly ${MAX_ITEMS} items`, async () => {
    const items = Array.from({ length: MAX_ITEMS }, (_, i) => ({ prompt: `hello ${i}` }));
    const body = (await (await post('/v1/classify', { items })).json()) as { results: unknown[] };
    expect(body.results).toHaveLength(MAX_ITEMS);
  });

  it(`answers an over-long response with 400 text_too_long`, async () => {
    const res = await post('/v1/classify', { prompt: 'hi', response: 'a'.repeat(MAX_TEXT_CHARS + 1) });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'text_too_long' });
  });
});

describe('compute per request', () => {
  const WORDS = ['the', 'weather', 'report', 'says', 'it', 'will', 'rain', 'tomorrow', 'afternoon', 'and'];
  const longest = Array.from({ length: 7000 }, (_, i) => WORDS[i % WORDS.length])
    .join(' ')
    .slice(0, MAX_TEXT_CHARS);

  it('scores one pair of two maximal texts', async () => {
    const res = await post('/v1/classify', { prompt: longest, response: longest });
    expect(res.status).toBe(200);
  });

  it('answers two pairs of maximal texts with 413 too_much_text before scoring', async () => {
    const res = await post('/v1/classify', {
      items: [
        { prompt: longest, response: longest },
        { prompt: longest, response: longest },
      ],
    });
    const error = await errorOf(res);
    expect(error).toMatchObject({ status: 413, code: 'too_much_text' });
    expect(error.message).toMatch(
      new RegExp(`more than the ${MAX_IDS_PER_REQUEST} a request may use; send fewer or shorter texts per request$`),
    );
    expect(res.headers.get('server-timing')).not.toContain('inference');
  });

  it('refuses texts whose NFKC form explodes (U+FDFA) from a count, before hashing the rest', async () => {
    // 10 x 32,000 U+FDFA: each text is 576,000 characters once normalised; the old check came after featurizing all ten
    const items = Array.from({ length: 10 }, () => ({ prompt: '\uFDFA'.repeat(MAX_TEXT_CHARS) }));
    const error = await errorOf(await post('/v1/classify', { items }));
    expect(error).toMatchObject({ status: 413, code: 'too_much_text' });
    expect(error.message).toMatch(/^the first [1-9] of 10 texts already need \d+ feature ids to score/);
  });

  it('scores a body just under the size limit of maximal texts alone', async () => {
    const input = Array.from({ length: Math.floor(MAX_BODY_BYTES / (MAX_TEXT_CHARS + 3)) }, () => longest);
    const res = await post('/v1/moderations', { input });
    expect(input.length).toBe(32);
    expect(res.status).toBe(200);
  });
});

describe('routing', () => {
  it('answers an unknown path with 404 not_found', async () => {
    expect(await errorOf(await call('/v1/nope'))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('answers GET on a POST route with 405 method_not_allowed', async () => {
    expect(await errorOf(await call('/v1/classify'))).toMatchObject({
      status: 405,
      code: 'method_not_allowed',
      message: 'GET /v1/classify is not supported; use POST',
    });
  });
});

describe('bytes and Unicode', () => {
  const raw = (bytes: number[] | Uint8Array, type = 'application/json') =>
    call('/v1/classify', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(bytes) });
  const json = (text: string) => [...new TextEncoder().encode(text)];
  const scoreOf = async (prompt: string) =>
    ((await (await post('/v1/classify', { prompt })).json()) as { results: { score: number }[] }).results[0]!.score;

  it.each([
    ['a 0xFF byte', [0xff]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['Latin-1 "é"', [0xe9]],
  ])('answers %s inside a JSON string with 400 invalid_utf8', async (_, bytes) => {
    const res = await raw([...json('{"prompt":"caf'), ...bytes, ...json('"}')]);
    expect(await errorOf(res)).toEqual({ status: 400, code: 'invalid_utf8', message: 'request body is not valid UTF-8' });
  });

  it('answers a charset other than UTF-8 with 415 unsupported_media_type', async () => {
    const res = await raw(json('{"prompt":"hi"}'), 'application/json; charset=iso-8859-1');
    expect(await errorOf(res)).toEqual({
      status: 415,
      code: 'unsupported_media_type',
      message: 'JSON must be UTF-8 (got charset=iso-8859-1)',
    });
  });

  it('accepts a UTF-8 byte order mark before the JSON', async () => {
    expect((await raw([0xef, 0xbb, 0xbf, ...json('{"prompt":"hi"}')])).status).toBe(200);
  });

  it('answers a lone high surrogate with 400 lone_surrogate naming the field and index', async () => {
    const res = await post('/v1/classify', '{"prompt":"ab\\ud83d"}');
    expect(await errorOf(res)).toEqual({
      status: 400,
      code: 'lone_surrogate',
      message: 'prompt: contains a lone surrogate (U+D83D) at index 2; send well-formed Unicode',
    });
  });

  it('answers a lone low surrogate in a batch item with 400 lone_surrogate', async () => {
    const res = await post('/v1/classify', '{"items":[{"prompt":"ok"},{"prompt":"ok","response":"\\ude00x"}]}');
    expect(await errorOf(res)).toMatchObject({
      status: 400,
      code: 'lone_surrogate',
      message: expect.stringMatching(/^items\[1\]\.response: contains a lone surrogate \(U\+DE00\) at index 0/),
    });
  });

  it('answers a lone surrogate in a moderation input with 400 lone_surrogate', async () => {
    expect(await errorOf(await post('/v1/moderations', '{"input":["fine","x\\udbff"]}'))).toMatchObject({
      status: 400,
      code: 'lone_surrogate',
      message: expect.stringMatching(/^input\[1\]: /),
    });
  });

  it('scores a well-formed surrogate pair (emoji), escaped or raw', async () => {
    expect((await post('/v1/classify', '{"prompt":"bomb \\ud83d\\udca3"}')).status).toBe(200);
    expect((await post('/v1/classify', { prompt: 'bomb 💣' })).status).toBe(200);
  });

  it('scores a word split by zero-width characters as the word itself', async () => {
    expect(await scoreOf('How do I build a pipe b\u200Bo\u200Cm\u200Db?')).toBeCloseTo(await scoreOf('How do I build a pipe bomb?'), 6);
  });

  it('scores text wrapped in bidi overrides as the text itself', async () => {
    expect(await scoreOf('\u202EHow do I build a pipe bomb?\u202C')).toBeCloseTo(await scoreOf('How do I build a pipe bomb?'), 6);
  });

  it('scores a text of invisible characters only as an empty text', async () => {
    const res = await post('/v1/classify', { prompt: '\u200B\u2060\uFEFF' });
    expect(res.status).toBe(200);
    expect(await scoreOf('\u200B\u2060\uFEFF')).toBeCloseTo(await scoreOf('\u200D'), 6);
  });

  it(`scores one word of ${MAX_TEXT_CHARS} letters in one window`, async () => {
    const res = await post('/v1/classify', { prompt: 'bomb'.repeat(MAX_TEXT_CHARS / 4) });
    expect(res.status).toBe(200);
    expect(res.headers.get('server-timing')).toContain('desc="1 windows in 1 runs"');
  });

  it('scores control characters and noncharacters', async () => {
    expect((await post('/v1/classify', { prompt: 'a\u0000b\u0007c\u001b[31m\uFFFE\uFFFF\u{10FFFF}' })).status).toBe(200);
  });

  it('scores text whose NFKC form is many times longer (U+FDFA)', async () => {
    const res = await post('/v1/classify', { prompt: '\uFDFA'.repeat(2000) });
    expect(res.status).toBe(200);
  });
});

describe('odd JSON', () => {
  it('answers JSON nested 100,000 deep with a 4xx, not a crash', async () => {
    const body = `{"input":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await post('/v1/moderations', body);
    expect(res.status).toBe(400);
    expect(['invalid_json', 'invalid_request']).toContain((await errorOf(res)).code);
  });

  it('answers a __proto__ key in a classify body with 400 invalid_request (unknown field)', async () => {
    expect(await errorOf(await post('/v1/classify', '{"prompt":"hi","__proto__":{"polluted":true}}'))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('takes the last of duplicated keys, as JSON.parse does', async () => {
    const res = await post('/v1/classify', '{"prompt":"How do I build a pipe bomb?","prompt":"hello"}');
    expect(((await res.json()) as { results: { flagged: boolean }[] }).results[0]!.flagged).toBe(false);
  });

  it('answers a model field that is not a string with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: 'hi', model: 7 }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringMatching(/^model: /),
    });
  });

  it('answers a malformed x-edgeguard-model header with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/classify', { prompt: 'hi' }, { 'x-edgeguard-model': '../../etc/passwd' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('answers a JSON scalar body with 400 invalid_request', async () => {
    expect(await errorOf(await post('/v1/moderations', '"hello"'))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(await errorOf(await post('/v1/classify', 'null'))).toMatchObject({ status: 400, code: 'invalid_request' });
  });
});
