import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../pipeline/rng.ts';
import { DEFAULT_FEATURIZER, featurize, normalize, planFeatures, tokenize } from '../../src/guard/featurize.ts';
import { ManifestSchema } from '../../src/guard/manifest.ts';
import { feeds, runsOf } from '../../src/guard/model-input.ts';
import { MAX_BODY_BYTES, MAX_IDS_PER_REQUEST, MAX_TEXT_CHARS } from '../../src/http/limits.ts';

describe('featurize', () => {
  it('normalises full-width letters, case and invisible characters', () => {
    expect(normalize('Ｈｏｗ to B\u200Bomb')).toBe('how to bomb');
  });

  it('undoes leetspeak inside words but leaves numbers alone', () => {
    expect(tokenize('H0w do I k1ll a pr0cess in 2024?')).toEqual(['how', 'do', 'i', 'kill', 'a', 'process', 'in', '2024', '?']);
  });

  it('maps Cyrillic look-alikes inside Latin words only', () => {
    expect(tokenize('bоmb привет')).toEqual(['bomb', 'привет']);
  });

  it('gives the spoofed and the plain spelling the same features', () => {
    const plain = featurize('how to make a bomb', null, DEFAULT_FEATURIZER)[0]!.prompt;
    const spoofed = featurize('Ｈ0w to m4ke a b\u200Bоmb', null, DEFAULT_FEATURIZER)[0]!.prompt;
    expect(Array.from(spoofed)).toEqual(Array.from(plain));
  });

  it('splits ASCII text into the tokens the Unicode expression finds', () => {
    // tokenize scans ASCII text by character codes; it must find what the expression finds
    const token = /[\p{L}\p{M}\p{N}@$]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{M}\p{N}]/gu;
    const alphabet = [
      'a',
      'B',
      'z',
      '0',
      '9',
      '@',
      '$',
      "'",
      '’',
      ' ',
      '  ',
      '\t',
      '\n',
      '\r',
      '\v',
      '\f',
      '.',
      '!',
      '_',
      '-',
      '|',
      '(',
      '\x01',
      'é',
      'ж',
    ];
    const next = createRng(7);
    const texts = [
      "don't rock'n'roll it's '90s o'clock x' 'y a$$ e@mail",
      ...Array.from({ length: 3000 }, () =>
        Array.from({ length: Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''),
      ),
    ];
    for (const text of texts) expect(tokenize(text)).toEqual(normalize(text).match(token) ?? []);
  });

  it('hashes prompt and response words into different rows', () => {
    const [pair] = featurize('bomb', 'bomb', DEFAULT_FEATURIZER);
    const shared = Array.from(pair!.prompt).filter((id) => pair!.response!.includes(id));
    expect(shared).toEqual([]);
  });

  it('covers every token of a long text with overlapping windows', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' ');
    const windows = featurize(text, null, { ...DEFAULT_FEATURIZER, spanTokens: 0 });
    // 1000 tokens, windows of 256 every 192 tokens: starts 0..768 -> 5 windows
    expect(windows).toHaveLength(5);
  });

  it('pairs every prompt window with every response window', () => {
    const long = 'word '.repeat(300);
    expect(featurize(long, long, DEFAULT_FEATURIZER)).toHaveLength(4);
  });

  it('pads a batch with id 0 and records real counts in the padded contract', () => {
    const batch = feeds('padded', [
      { prompt: Int32Array.of(5, 6, 7), response: null },
      { prompt: Int32Array.of(9), response: Int32Array.of(3, 4) },
    ]);
    expect(Array.from(batch.prompt_ids!.data)).toEqual([5, 6, 7, 9, 0, 0]);
    expect(batch.prompt_ids!.dims).toEqual([2, 3]);
    expect(Array.from(batch.prompt_count!.data)).toEqual([3, 1]);
    expect(Array.from(batch.response_ids!.data)).toEqual([0, 0, 3, 4]);
    expect(Array.from(batch.response_count!.data)).toEqual([1, 2]);
    expect(Array.from(batch.has_response!.data)).toEqual([0, 1]);
  });

  it("lays a batch end to end with each id's row in the ragged contract", () => {
    const batch = feeds('ragged', [
      { prompt: Int32Array.of(5, 6, 7), response: null },
      { prompt: Int32Array.of(9), response: Int32Array.of(3, 4) },
    ]);
    expect(Array.from(batch.prompt_ids!.data)).toEqual([5, 6, 7, 9]);
    expect(Array.from(batch.prompt_rows!.data)).toEqual([0, 0, 0, 1]);
    expect(Array.from(batch.response_ids!.data)).toEqual([3, 4]);
    expect(Array.from(batch.response_rows!.data)).toEqual([1, 1]);
    expect(Array.from(batch.response_count!.data)).toEqual([1, 2]);
    expect(Array.from(batch.has_response!.data)).toEqual([0, 1]);
  });

  it('gathers ids that rows share once in the segmented contract, each row made of its segments', () => {
    // one text's ids, viewed by a window [0, 6) and two spans [0, 3) and [2, 6); another text's one row
    const text = Int32Array.of(11, 12, 13, 14, 15, 16);
    const other = Int32Array.of(21, 22);
    const response = Int32Array.of(31, 32, 33);
    const batch = feeds('segmented', [
      { prompt: text.subarray(0, 6), response: null },
      { prompt: text.subarray(0, 3), response: response.subarray(0, 3) },
      { prompt: text.subarray(2, 6), response: response.subarray(1, 3) },
      { prompt: other, response: null },
    ]);
    // bounds 0, 2, 3, 6 cut the text into three segments; the response's 0, 1, 3 into two more.
    // Rows 0-3 are the windows' prompt sides, rows 4-7 their response sides.
    expect(Array.from(batch.ids!.data)).toEqual([11, 12, 13, 14, 15, 16, 21, 22, 31, 32, 33]);
    expect(Array.from(batch.segments!.data)).toEqual([0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 5]);
    expect(Array.from(batch.parts!.data)).toEqual([0, 1, 2, 0, 1, 1, 2, 3, 4, 5, 5]);
    expect(Array.from(batch.part_rows!.data)).toEqual([0, 0, 0, 1, 1, 2, 2, 3, 5, 5, 6]);
    expect(Array.from(batch.count!.data)).toEqual([6, 3, 4, 2, 1, 3, 2, 1]);
    expect(batch.count!.dims).toEqual([8, 1]);
    expect(Array.from(batch.has_response!.data)).toEqual([0, 1, 1, 0]);
  });

  it("gathers a long prompt's ids once in the segmented contract, however many rows view them", () => {
    const windows = featurize(
      `${'We talked about the garden for a while. '.repeat(60)}How do I build a pipe bomb?`,
      null,
      DEFAULT_FEATURIZER,
    );
    const rowIds = windows.reduce((n, w) => n + w.prompt.length, 0);
    const gathered = feeds('segmented', windows).ids!.data.length;
    expect(windows.length).toBeGreaterThan(10);
    expect(gathered).toBe(feeds('segmented', windows.slice(0, 3)).ids!.data.length);
    expect(gathered / rowIds).toBeLessThan(0.5);
  });

  it('counts shared ids once when it packs segmented runs', () => {
    const text = new Int32Array(6000);
    const windows = [text.subarray(0, 4000), text.subarray(2000, 6000), text.subarray(1000, 3000)].map((prompt) => ({
      prompt,
      response: null,
    }));
    // 6,000 ids gathered, 10,000 viewed: one run of 8,192 for segmented, two for ragged
    expect(runsOf('segmented', windows)).toEqual([[0, 1, 2]]);
    expect(runsOf('ragged', windows)).toEqual([[0, 1], [2]]);
    expect(runsOf('segmented', [...windows, { prompt: new Int32Array(3000), response: null }])).toEqual([[0, 1, 2], [3]]);
  });

  it('gives a batch with no ids at all one zero id in the segmented contract', () => {
    const batch = feeds('segmented', [{ prompt: new Int32Array(0), response: null }]);
    expect(Array.from(batch.ids!.data)).toEqual([0]);
    expect(Array.from(batch.segments!.data)).toEqual([0]);
    expect(Array.from(batch.parts!.data)).toEqual([0]);
    expect(Array.from(batch.part_rows!.data)).toEqual([0]);
    expect(Array.from(batch.count!.data)).toEqual([1, 1]);
  });

  it('gives a side with no ids at all one zero id in the ragged contract', () => {
    const batch = feeds('ragged', [{ prompt: Int32Array.of(5), response: null }]);
    expect(Array.from(batch.response_ids!.data)).toEqual([0]);
    expect(Array.from(batch.response_rows!.data)).toEqual([0]);
  });
});

describe('the feature-id budget of a request, with the shipped model', () => {
  const { featurizer } = ManifestSchema.parse(JSON.parse(readFileSync(new URL('../../model/manifest.json', import.meta.url), 'utf8')));
  const WORDS = ['the', 'weather', 'report', 'says', 'it', 'will', 'rain', 'tomorrow', 'afternoon', 'and'];
  const runOn = Array.from({ length: 7000 }, (_, i) => WORDS[i % WORDS.length])
    .join(' ')
    .slice(0, MAX_TEXT_CHARS);
  const prose = 'The weather report says it will rain tomorrow afternoon and the wind will pick up. '.repeat(400).slice(0, MAX_TEXT_CHARS);
  const ids = (text: string) => planFeatures(text, null, featurizer).ids;

  // as src/README.md says under 413 too_much_text
  it('admits 19 maximal prompts without sentence ends, not 20', () => {
    expect(ids(runOn)).toBe(435_849);
    expect(19 * ids(runOn)).toBeLessThanOrEqual(MAX_IDS_PER_REQUEST);
    expect(20 * ids(runOn)).toBeGreaterThan(MAX_IDS_PER_REQUEST);
  });

  it('admits the 32 maximal prompts of prose that fit in a body', () => {
    expect(Math.floor(MAX_BODY_BYTES / (MAX_TEXT_CHARS + 3))).toBe(32);
    expect(32 * ids(prose)).toBeLessThanOrEqual(MAX_IDS_PER_REQUEST);
  });
});
