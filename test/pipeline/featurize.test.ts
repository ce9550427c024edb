import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURIZER, featurize, normalize, tokenize } from '../../src/guard/featurize.ts';
import { feeds } from '../../src/guard/model-input.ts';

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

  it('gives a side with no ids at all one zero id in the ragged contract', () => {
    const batch = feeds('ragged', [{ prompt: Int32Array.of(5), response: null }]);
    expect(Array.from(batch.response_ids!.data)).toEqual([0]);
    expect(Array.from(batch.response_rows!.data)).toEqual([0]);
  });
});
