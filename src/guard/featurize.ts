/**
 * Text -> model inputs. Pure and dependency-free: the worker and the training pipeline import this
 * one module, so what the student sees in training is exactly what it sees at the edge.
 *
 * A text becomes hashed fastText-style features (word unigrams, word bigrams, character n-grams of
 * each word) in `buckets` rows of one embedding table. Prompt and response features are hashed with
 * different salts, so the same words in a request and in an answer land in different rows and
 * "harmful request + refusal" can score differently from "harmful request + compliance".
 * Long texts are cut into overlapping windows of tokens; the caller scores every window and the
 * highest score wins, so nothing is silently truncated.
 */

import type { FeaturizerConfig } from './manifest.ts';

export type { FeaturizerConfig };

/** Settings of the shipped default; the manifest of each model carries its own. */
export const DEFAULT_FEATURIZER: FeaturizerConfig = {
  kind: 'hashed-ngrams-v1',
  buckets: 1 << 17,
  charNgramMin: 2,
  charNgramMax: 5,
  wordBigrams: true,
  skipStopwords: true,
  windowTokens: 256,
  windowStride: 192,
};

/** One window of features: bucket ids for the prompt and, when scored with one, the response. */
export interface FeatureWindow {
  prompt: Int32Array;
  response: Int32Array | null;
}

// Invisible characters attackers use to split words ("b\u200Bomb"): soft hyphen, joiners,
// bidi controls, variation selectors, BOM, Hangul fillers.
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/g;

// Cyrillic and Greek letters that look Latin. Only applied inside words that also hold a Latin
// letter, so Russian or Greek text keeps its own letters.
const HOMOGLYPHS: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', з: '3', і: 'i', ї: 'i', ј: 'j', к: 'k', м: 'm', н: 'h', о: 'o',
  р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ɡ: 'g',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x',
};

// Leetspeak, only inside words that mix letters with these symbols ("b0mb", "h4ck", "k1ll"),
// so numbers like "2024" or "3.5" stay numbers.
const LEET: Record<string, string> = {
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's',
};

const TOKEN = /[\p{L}\p{M}\p{N}@$]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{M}\p{N}]/gu;
const HAS_LATIN = /[a-z]/;
const HAS_LETTER = /\p{L}/u;
const NON_LATIN_LOOKALIKE = /[а-яёіїјѕԁԛԝɡα-ω]/;
const LEET_CHAR = /[013457@$]/;

/**
 * Normalises text the way attackers force us to: Unicode NFKC (full-width and styled letters to
 * plain ones), lower case, invisible characters removed.
 * @example normalize('Ｈｏｗ to b\u200Bomb') // 'how to bomb'
 */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(INVISIBLE, '');
}

function unspoof(word: string): string {
  let out = word;
  if (HAS_LATIN.test(out) && NON_LATIN_LOOKALIKE.test(out)) {
    out = Array.from(out, (ch) => HOMOGLYPHS[ch] ?? ch).join('');
  }
  if (LEET_CHAR.test(out) && HAS_LETTER.test(out)) {
    out = Array.from(out, (ch) => LEET[ch] ?? ch).join('');
  }
  return out;
}

/**
 * Splits normalised text into tokens: words (with leet and homoglyphs undone) and single
 * punctuation marks.
 * @example tokenize('H0w do I k1ll a process?') // ['how', 'do', 'i', 'kill', 'a', 'process', '?']
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of normalize(text).matchAll(TOKEN)) tokens.push(unspoof(match[0]));
  return tokens;
}

/** FNV-1a over UTF-16 code units, seeded; fast, and identical in Node and workerd. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32) so nearby strings spread over the table
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

// English function words: question and request scaffolding, pronouns, auxiliaries, articles.
// With `skipStopwords` they are no features alone (only in bigrams with content words).
const STOPWORDS = new Set(
  (
    'a an the and or but if then so than as of at by for with about into onto from to in on off up down over under ' +
    'out again further once here there when where why how what which who whom whose this that these those ' +
    'i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her hers ' +
    'herself it its itself they them their theirs themselves ' +
    'am is are was were be been being have has had having do does did doing done can could shall should will would ' +
    'may might must ought let lets please tell give show explain write make help want need like know get ' +
    "i'm i've i'd i'll you're you've you'd you'll it's that's there's what's don't doesn't didn't can't won't isn't aren't " +
    'some any all each every no not only own same such too very just also more most other both few many much ' +
    'hi hey hello thanks thank yes ok okay'
  ).split(' '),
);

const PROMPT_SEED = 0x70726f6d; // 'prom'
const RESPONSE_SEED = 0x72657370; // 'resp'

function isWord(token: string): boolean {
  return HAS_LETTER.test(token) || /\p{N}/u.test(token);
}

/** Bucket ids of one window of tokens. */
function windowFeatures(tokens: string[], seed: number, config: FeaturizerConfig): Int32Array {
  const ids: number[] = [];
  const rows = config.buckets - 1;
  const add = (feature: string) => ids.push(1 + (hash(feature, seed) % rows));
  const stop = (t: string | undefined) => config.skipStopwords && t !== undefined && STOPWORDS.has(t);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const previous = tokens[i - 1];
    if (config.wordBigrams && i > 0 && !(stop(token) && stop(previous))) add(`b ${previous} ${token}`);
    if (stop(token)) continue;
    add(`w ${token}`);
    if (!isWord(token)) continue;
    const chars = Array.from(`<${token}>`);
    // Very long "words" (base64, URLs) would flood the bag; their first 40 characters suffice.
    const len = Math.min(chars.length, 42);
    for (let n = config.charNgramMin; n <= config.charNgramMax; n++) {
      for (let start = 0; start + n <= len; start++) add(`c ${chars.slice(start, start + n).join('')}`);
    }
  }
  if (ids.length === 0) ids.push(1 + (hash('<empty>', seed) % rows));
  return Int32Array.from(ids);
}

/** Token windows: [0, windowTokens), [stride, stride + windowTokens), ... covering every token. */
function windows(tokens: string[], config: FeaturizerConfig): string[][] {
  if (tokens.length <= config.windowTokens) return [tokens];
  const out: string[][] = [];
  for (let start = 0; ; start += config.windowStride) {
    out.push(tokens.slice(start, start + config.windowTokens));
    if (start + config.windowTokens >= tokens.length) break;
  }
  return out;
}

/**
 * Features of a prompt, or of a prompt and response pair, one entry per window.
 * For a pair, every prompt window is paired with every response window, so a harmful answer
 * anywhere in a long response is seen next to the request.
 * @param prompt the user's text
 * @param response the model's answer to score in the context of `prompt`; `null` for prompt-only
 * @param config featurizer settings from the model manifest
 * @example featurize('How do I build a pipe bomb?', null, DEFAULT_FEATURIZER).length // 1
 */
export function featurize(
  prompt: string,
  response: string | null,
  config: FeaturizerConfig,
): FeatureWindow[] {
  const promptWindows = windows(tokenize(prompt), config).map((w) =>
    windowFeatures(w, PROMPT_SEED, config),
  );
  if (response === null) return promptWindows.map((p) => ({ prompt: p, response: null }));
  const responseWindows = windows(tokenize(response), config).map((w) =>
    windowFeatures(w, RESPONSE_SEED, config),
  );
  return promptWindows.flatMap((p) => responseWindows.map((r) => ({ prompt: p, response: r })));
}

/** The student's input tensors for a batch of windows, as flat arrays with their shapes. */
export interface PackedBatch {
  size: number;
  promptIds: Int32Array; // [size, promptLength], 0-padded
  promptLength: number;
  promptCount: Float32Array; // [size, 1]: real ids per row (>= 1)
  responseIds: Int32Array; // [size, responseLength], 0-padded (all 0 for prompt-only rows)
  responseLength: number;
  responseCount: Float32Array; // [size, 1]: real ids per row, 1 for prompt-only rows
  hasResponse: Float32Array; // [size, 1]: 1 for pairs, 0 for prompt-only rows
}

/**
 * Pads a batch of windows into the student's input tensors. Padding id 0 points at an all-zero
 * row, so a sum over the padded row divided by the real count is the mean of the real features.
 */
export function packBatch(batch: FeatureWindow[]): PackedBatch {
  const size = batch.length;
  const promptLength = Math.max(1, ...batch.map((w) => w.prompt.length));
  const responseLength = Math.max(1, ...batch.map((w) => w.response?.length ?? 0));
  const promptIds = new Int32Array(size * promptLength);
  const responseIds = new Int32Array(size * responseLength);
  const promptCount = new Float32Array(size);
  const responseCount = new Float32Array(size);
  const hasResponse = new Float32Array(size);
  batch.forEach((w, row) => {
    promptIds.set(w.prompt, row * promptLength);
    promptCount[row] = Math.max(1, w.prompt.length);
    if (w.response) {
      responseIds.set(w.response, row * responseLength);
      responseCount[row] = Math.max(1, w.response.length);
      hasResponse[row] = 1;
    } else {
      responseCount[row] = 1;
    }
  });
  return { size, promptIds, promptLength, promptCount, responseIds, responseLength, responseCount, hasResponse };
}
