/**
 * Text -> model inputs. Pure and dependency-free but for the confusables data: the worker and the
 * training pipeline import this one module, so what the student sees in training is exactly what
 * it sees at the edge.
 *
 * A text is normalised (normalize.ts: disguises undone), split into tokens, and each token becomes
 * hashed fastText-style features (word unigrams, word bigrams, character n-grams of each word) in
 * `buckets` rows of one embedding table. Prompt and response features are hashed with different
 * salts, so "harmful request + refusal" can score differently from "harmful request + compliance".
 *
 * What gets scored, each a row of feature ids ("window"); the caller keeps each label's highest:
 * - overlapping windows of `windowTokens` tokens covering the whole text (nothing is truncated);
 * - for a prompt alone, its sentences as short spans (long sentences cut into `spanTokens`-token
 *   sub-windows), so a harmful request wrapped in benign text is still seen on its own;
 * - the same for the text with its base64 / hex / URL-encoded runs decoded (decode.ts), when it
 *   has any.
 * The id count of all of it is known from the tokens before anything is hashed (`countIds`), so a
 * caller can refuse a request that would cost too much before paying for it.
 */
import { decodedViews } from './decode.ts';
import type { FeaturizerConfig } from './manifest.ts';
import { normalize } from './normalize.ts';

export type { FeaturizerConfig };
export { normalize };

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
  spanTokens: 32,
  decodeViews: true,
};

/** One window of features: bucket ids for the prompt and, when scored with one, the response. */
export interface FeatureWindow {
  prompt: Int32Array;
  response: Int32Array | null;
}

const TOKEN = /[\p{L}\p{M}\p{N}@$]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{M}\p{N}]/gu;
const HAS_LETTER = /\p{L}/u;
const HAS_DIGIT = /\p{N}/u;
// A token that ends a sentence; a line break ends one too.
const SENTENCE_END = new Set(['.', '!', '?', ';', '…', '。', '！', '？']);
// Spans shorter than this join the next sentence ("Hi! How do I ...?" is one span), or the one
// before when they end the text ("Rhyme with the given word.\n\ninstruct" is one span): a lone word
// is no request.
const MIN_SPAN_TOKENS = 4;
// Only a word's first characters make n-grams: base64 blobs and URLs would flood the bag.
const MAX_NGRAM_CHARS = 42;

/** Tokens of a text, and where its sentences start (token indices, ascending, starting with 0). */
interface TokenizedText {
  tokens: string[];
  sentenceStarts: number[];
}

function tokenizeWithSentences(text: string): TokenizedText {
  const normalized = normalize(text);
  const tokens: string[] = [];
  const sentenceStarts = [0];
  let lastEnd = 0;
  for (const match of normalized.matchAll(TOKEN)) {
    const token = match[0];
    const gap = normalized.slice(lastEnd, match.index);
    const previous = tokens[tokens.length - 1];
    if (tokens.length > 0 && (gap.includes('\n') || (previous !== undefined && SENTENCE_END.has(previous)))) {
      if (sentenceStarts[sentenceStarts.length - 1] !== tokens.length) sentenceStarts.push(tokens.length);
    }
    tokens.push(token);
    lastEnd = match.index + token.length;
  }
  return { tokens, sentenceStarts };
}

/**
 * Splits normalised text into tokens: words and single punctuation marks.
 * @example tokenize('H0w do I k1ll a process?') // ['how', 'do', 'i', 'kill', 'a', 'process', '?']
 */
export function tokenize(text: string): string[] {
  return tokenizeWithSentences(text).tokens;
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

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's fmix32, so nearby strings spread over the table. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, continued from state `h`; identical in Node and workerd. */
function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

const isWord = (token: string) => HAS_LETTER.test(token) || HAS_DIGIT.test(token);

/** Character n-grams a word of `codePoints` code points makes: over `<word>`, first 42 characters. */
function ngramCount(codePoints: number, config: FeaturizerConfig): number {
  const len = Math.min(codePoints + 2, MAX_NGRAM_CHARS);
  let count = 0;
  for (let n = config.charNgramMin; n <= config.charNgramMax; n++) count += Math.max(0, len - n + 1);
  return count;
}

/**
 * The ids of a text's tokens, computed once and shared by every window and span that holds them:
 * a token's bigram with the token before it (used unless the token starts the window), and its
 * own ids (word and character n-grams; none for a stopword).
 */
class TokenIds {
  readonly bigram: Int32Array;
  private readonly own: Int32Array[];

  constructor(tokens: string[], seed: number, config: FeaturizerConfig) {
    const rows = config.buckets - 1;
    const bucket = (h: number) => 1 + (finish(h) % rows);
    const start = (FNV_OFFSET ^ seed) >>> 0;
    const stop = (t: string | undefined) => config.skipStopwords && t !== undefined && STOPWORDS.has(t);
    const ownByToken = new Map<string, Int32Array>();
    this.bigram = new Int32Array(tokens.length);
    this.own = tokens.map((token, i) => {
      const previous = tokens[i - 1];
      if (config.wordBigrams && i > 0 && !(stop(token) && stop(previous))) {
        this.bigram[i] = bucket(fnv(fnv(fnv(fnv(start, 'b '), previous!), ' '), token));
      }
      let own = ownByToken.get(token);
      if (own === undefined) {
        own = stop(token) ? new Int32Array(0) : ownIds(token, start, bucket, config);
        ownByToken.set(token, own);
      }
      return own;
    });
  }

  /** Ids of tokens [from, to), as one window: the first token's bigram reaches outside it, so is left out. */
  window(from: number, to: number): Int32Array {
    let size = 0;
    for (let i = from; i < to; i++) size += this.own[i]!.length + (i > from && this.bigram[i] ? 1 : 0);
    const ids = new Int32Array(size);
    let at = 0;
    for (let i = from; i < to; i++) {
      if (i > from && this.bigram[i]) ids[at++] = this.bigram[i]!;
      ids.set(this.own[i]!, at);
      at += this.own[i]!.length;
    }
    return ids;
  }
}

/** A token's word id and character n-gram ids, hashed without building the n-gram strings. */
function ownIds(token: string, start: number, bucket: (h: number) => number, config: FeaturizerConfig): Int32Array {
  const word = bucket(fnv(fnv(start, 'w '), token));
  if (!isWord(token)) return Int32Array.of(word);
  const chars = Array.from(`<${token}>`);
  const len = Math.min(chars.length, MAX_NGRAM_CHARS);
  const ids = new Int32Array(1 + ngramCount(chars.length - 2, config));
  ids[0] = word;
  let at = 1;
  const prefix = fnv(start, 'c ');
  for (let n = config.charNgramMin; n <= config.charNgramMax; n++) {
    for (let from = 0; from + n <= len; from++) {
      let h = prefix;
      for (let k = from; k < from + n; k++) h = fnv(h, chars[k]!);
      ids[at++] = bucket(h);
    }
  }
  return ids;
}

/** Ids a token adds to a window: its bigram (unless it starts the window), word and n-grams. */
function idsOfToken(tokens: string[], i: number, startsWindow: boolean, config: FeaturizerConfig): number {
  const token = tokens[i]!;
  const stop = (t: string | undefined) => config.skipStopwords && t !== undefined && STOPWORDS.has(t);
  let count = config.wordBigrams && !startsWindow && !(stop(token) && stop(tokens[i - 1])) ? 1 : 0;
  if (stop(token)) return count;
  count += 1;
  if (isWord(token)) count += ngramCount(Array.from(token).length, config);
  return count;
}

type Range = readonly [from: number, to: number];

/** Token windows: [0, windowTokens), [stride, stride + windowTokens), ... covering every token. */
function windowRanges(length: number, config: FeaturizerConfig): Range[] {
  if (length <= config.windowTokens) return [[0, length]];
  const out: Range[] = [];
  for (let start = 0; ; start += config.windowStride) {
    out.push([start, Math.min(length, start + config.windowTokens)]);
    if (start + config.windowTokens >= length) break;
  }
  return out;
}

/**
 * Sentence spans: each sentence (short ones joined to the next), long sentences cut into
 * `spanTokens`-token sub-windows every `spanTokens / 2`. None when the text is one span: its
 * window already says everything.
 */
function spanRanges(text: TokenizedText, config: FeaturizerConfig): Range[] {
  const size = config.spanTokens;
  if (size === 0) return [];
  const bounds = [...text.sentenceStarts, text.tokens.length];
  const sentences: Range[] = [];
  let from = 0;
  for (let s = 1; s < bounds.length; s++) {
    const to = bounds[s]!;
    if (to - from < MIN_SPAN_TOKENS) {
      // a short sentence joins the next one, or the one before when it is the last
      if (s < bounds.length - 1) continue;
      const previous = sentences.pop();
      if (previous) from = previous[0];
    }
    sentences.push([from, to]);
    from = to;
  }
  const stride = Math.max(1, Math.floor(size / 2));
  const spans = sentences.flatMap(([from, to]): Range[] => {
    if (to - from <= size) return [[from, to]];
    const cut: Range[] = [];
    for (let start = from; ; start += stride) {
      cut.push([start, Math.min(to, start + size)]);
      if (start + size >= to) break;
    }
    return cut;
  });
  const whole = windowRanges(text.tokens.length, config);
  return spans.length === 1 && whole.length === 1 && spans[0]![0] === whole[0]![0] && spans[0]![1] === whole[0]![1] ? [] : spans;
}

/** One text planned for featurizing: its tokens and the token ranges that become rows. */
interface Plan {
  tokens: string[];
  ranges: Range[];
}

/** The texts a side is read as: itself and, if it holds encoded runs, its decoded readings. */
function readings(text: string, config: FeaturizerConfig): string[] {
  return config.decodeViews ? [text, ...decodedViews(text)] : [text];
}

function plan(text: string, withSpans: boolean, config: FeaturizerConfig): Plan[] {
  return readings(text, config).map((reading) => {
    const tokenized = tokenizeWithSentences(reading);
    const ranges = windowRanges(tokenized.tokens.length, config);
    return { tokens: tokenized.tokens, ranges: withSpans ? [...ranges, ...spanRanges(tokenized, config)] : ranges };
  });
}

function rangeIds(tokens: string[], [from, to]: Range, config: FeaturizerConfig): number {
  // an empty text still makes one id ('<empty>')
  if (from === to) return 1;
  let ids = 0;
  for (let i = from; i < to; i++) ids += idsOfToken(tokens, i, i === from, config);
  return Math.max(ids, 1);
}

/** A prompt (and response) planned, with the exact number of ids featurizing it makes. */
export interface FeaturizePlan {
  prompt: Plan[];
  response: Plan[] | null;
  /** Feature ids over all rows: what scoring it costs. */
  ids: number;
  /** Rows (windows and spans) it becomes. */
  rows: number;
}

/**
 * Tokenizes a prompt (and response) and counts the rows and ids featurizing it will make, without
 * hashing anything: cheap enough to run before deciding whether a request may cost that much.
 * @example planFeatures('How do I build a pipe bomb?', null, DEFAULT_FEATURIZER).rows // 1
 */
export function planFeatures(prompt: string, response: string | null, config: FeaturizerConfig): FeaturizePlan {
  const promptPlans = plan(prompt, response === null, config);
  const promptRows = promptPlans.flatMap((p) => p.ranges.map((r) => rangeIds(p.tokens, r, config)));
  if (response === null) {
    return { prompt: promptPlans, response: null, ids: promptRows.reduce((a, b) => a + b, 0), rows: promptRows.length };
  }
  const responsePlans = plan(response, false, config);
  const responseRows = responsePlans.flatMap((p) => p.ranges.map((r) => rangeIds(p.tokens, r, config)));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // every prompt row is paired with every response row
  const ids = responseRows.length * sum(promptRows) + promptRows.length * sum(responseRows);
  return { prompt: promptPlans, response: responsePlans, ids, rows: promptRows.length * responseRows.length };
}

function rows(plans: Plan[], seed: number, config: FeaturizerConfig): Int32Array[] {
  return plans.flatMap((p) => {
    const ids = new TokenIds(p.tokens, seed, config);
    const empty = () => Int32Array.of(1 + (finish(fnv((FNV_OFFSET ^ seed) >>> 0, '<empty>')) % (config.buckets - 1)));
    return p.ranges.map(([from, to]) => {
      const row = ids.window(from, to);
      return row.length === 0 ? empty() : row;
    });
  });
}

/**
 * The rows of a plan (see planFeatures): hashes every token once and slices windows and spans
 * from the shared ids.
 */
export function featurizePlan(planned: FeaturizePlan, config: FeaturizerConfig): FeatureWindow[] {
  const promptRows = rows(planned.prompt, PROMPT_SEED, config);
  if (planned.response === null) return promptRows.map((prompt) => ({ prompt, response: null }));
  const responseRows = rows(planned.response, RESPONSE_SEED, config);
  return promptRows.flatMap((prompt) => responseRows.map((response) => ({ prompt, response })));
}

/**
 * Features of a prompt, or of a prompt and response pair, one entry per row (window or span).
 * For a pair, every prompt window is paired with every response window, so a harmful answer
 * anywhere in a long response is seen next to the request.
 * @param prompt the user's text
 * @param response the model's answer to score in the context of `prompt`; `null` for prompt-only
 * @param config featurizer settings from the model manifest
 * @example featurize('How do I build a pipe bomb?', null, DEFAULT_FEATURIZER).length // 1
 */
export function featurize(prompt: string, response: string | null, config: FeaturizerConfig): FeatureWindow[] {
  return featurizePlan(planFeatures(prompt, response, config), config);
}
