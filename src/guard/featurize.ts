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
 *   sub-windows and also read by their first and last `edgeSpanTokens` tokens, run-on ones also
 *   cut into `runOnSpanTokens`-token ones), so a harmful request wrapped in benign text is still
 *   seen on its own;
 * - the same for the text with its base64 / hex / URL-encoded runs decoded (decode.ts), when it
 *   has any, and for a text written backwards read forwards (`reverseViews`).
 * The id count of all of it is known from the tokens before anything is hashed (`countIds`), so a
 * caller can refuse a request that would cost too much before paying for it.
 */
import { decodedViews, reversedView } from './decode.ts';
import type { FeaturizerConfig } from './manifest.ts';
import { NON_ASCII, normalize } from './normalize.ts';

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
  runOnSpanTokens: 14,
  edgeSpanTokens: [],
  decodeViews: true,
  reverseViews: true,
};

/**
 * One window of features: bucket ids for the prompt and, when scored with one, the response. The
 * rows of one text are views of one array (its windows and spans overlap): read them, never write.
 */
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
// A sentence of more than this many spans' tokens is run-on text: no sentence ends to cut it at.
const RUN_ON_SPANS = 4;
// Only a word's first characters make n-grams: base64 blobs and URLs would flood the bag.
const MAX_NGRAM_CHARS = 42;

// ASCII character classes of TOKEN: word characters (letters, digits, '@', '$'), letters, and \s
const ASCII_WORD = new Uint8Array(128);
const ASCII_LETTER = new Uint8Array(128);
const ASCII_SPACE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_LETTER[c] = /[a-z]/i.test(ch) ? 1 : 0;
  ASCII_WORD[c] = /[a-z0-9@$]/i.test(ch) ? 1 : 0;
  ASCII_SPACE[c] = /\s/.test(ch) ? 1 : 0;
}

/**
 * TOKEN's matches in ASCII text, found by a scan of character codes instead of the Unicode
 * regular expression (8 us -> 5 us for a 500-character prompt): a run of word characters with an
 * optional "'" and letters after it, or any other character but a space on its own.
 */
function eachAsciiToken(text: string, add: (token: string, index: number) => void): void {
  const length = text.length;
  for (let i = 0; i < length;) {
    const code = text.charCodeAt(i);
    if (ASCII_SPACE[code]) {
      i++;
      continue;
    }
    let end = i + 1;
    if (ASCII_WORD[code]) {
      while (end < length && ASCII_WORD[text.charCodeAt(end)]) end++;
      if (end + 1 < length && text.charCodeAt(end) === 0x27 && ASCII_LETTER[text.charCodeAt(end + 1)]) {
        end += 2;
        while (end < length && ASCII_LETTER[text.charCodeAt(end)]) end++;
      }
    }
    add(text.slice(i, end), i);
    i = end;
  }
}

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
  // the first line break at or after lastEnd (tokens hold none): one in the gap before a token ends a sentence
  let newline = normalized.indexOf('\n');
  const add = (token: string, index: number) => {
    if (newline !== -1 && newline < lastEnd) newline = normalized.indexOf('\n', lastEnd);
    const breaksLine = newline !== -1 && newline < index;
    const previous = tokens[tokens.length - 1];
    if (tokens.length > 0 && (breaksLine || (previous !== undefined && SENTENCE_END.has(previous)))) {
      if (sentenceStarts[sentenceStarts.length - 1] !== tokens.length) sentenceStarts.push(tokens.length);
    }
    tokens.push(token);
    lastEnd = index + token.length;
  };
  if (NON_ASCII.test(normalized)) for (const match of normalized.matchAll(TOKEN)) add(match[0], match.index);
  else eachAsciiToken(normalized, add);
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

/** The embedding table features are hashed into: row 0 is the zero row, the others `rows` buckets. */
interface Table {
  rows: number;
  /** log2(rows + 1) when `rows` is a Mersenne number (2^bits - 1), else 0. */
  bits: number;
}

function tableOf(config: FeaturizerConfig): Table {
  const rows = config.buckets - 1;
  return { rows, bits: (rows & config.buckets) === 0 ? Math.log2(config.buckets) : 0 };
}

/**
 * The row of hash `h`: 1 + h mod rows. With `buckets` a power of two (every model's), `rows` is
 * 2^bits - 1 and the remainder is found by folding h's high bits onto its low ones, since
 * 2^bits = 1 (mod rows): V8 takes `%` of an unsigned 32-bit h on doubles, a tenth of the time
 * featurizing a 500-character prompt takes.
 */
function rowOf(h: number, { rows, bits }: Table): number {
  if (bits === 0) return 1 + (h % rows);
  let x = (h & rows) + (h >>> bits);
  x = (x & rows) + (x >>> bits);
  // two folds leave at most rows + 1 for a table of 2^16 rows or more; smaller ones take more
  while (x > rows) x = (x & rows) + (x >>> bits);
  return x === rows ? 1 : 1 + x;
}

/** The FNV states every feature of one side starts from: its seed, then the feature kind's prefix. */
interface Seeded {
  start: number;
  word: number;
  bigram: number;
  char: number;
}

function seeded(seed: number): Seeded {
  const start = (FNV_OFFSET ^ seed) >>> 0;
  return { start, word: fnv(start, 'w '), bigram: fnv(start, 'b '), char: fnv(start, 'c ') };
}

const PROMPT_HASH = seeded(PROMPT_SEED);
const RESPONSE_HASH = seeded(RESPONSE_SEED);

const isWord = (token: string) => HAS_LETTER.test(token) || HAS_DIGIT.test(token);
const isStopword = (token: string | undefined, config: FeaturizerConfig) =>
  config.skipStopwords && token !== undefined && STOPWORDS.has(token);

/** Code points of a string, a lone surrogate counting as one (as `Array.from` counts them). */
function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++, count++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return count;
}

/** Character n-grams a word of `codePoints` code points makes: over `<word>`, first 42 characters. */
function ngramCount(codePoints: number, config: FeaturizerConfig): number {
  const len = Math.min(codePoints + 2, MAX_NGRAM_CHARS);
  let count = 0;
  for (let n = config.charNgramMin; n <= config.charNgramMax; n++) count += Math.max(0, len - n + 1);
  return count;
}

// Scratch space of writeOwnIds, reused by every call (featurizing is synchronous): the code
// units of the first MAX_NGRAM_CHARS code points of `<token>`, where each code point starts in
// them, and where the n-grams of each length start among a token's ids.
const UNITS = new Uint16Array(2 * MAX_NGRAM_CHARS);
const POINT_STARTS = new Int32Array(MAX_NGRAM_CHARS + 1);
let slotStarts = new Int32Array(8);

/**
 * Writes a token's word id and character n-gram ids at `out[at]`: the word first, then the
 * n-grams of `<token>` by length, each length by start. Each start's n-grams are hashed in one
 * pass that grows the n-gram a character at a time, so no n-gram string is ever built.
 */
function writeOwnIds(token: string, hash: Seeded, table: Table, config: FeaturizerConfig, out: Int32Array, at: number): void {
  out[at] = rowOf(finish(fnv(hash.word, token)), table);
  if (!isWord(token)) return;
  // `<token>` cut to its first MAX_NGRAM_CHARS code points
  let units = 0;
  let len = 0;
  POINT_STARTS[len++] = units;
  UNITS[units++] = 0x3c; // '<'
  for (let i = 0; i < token.length && len < MAX_NGRAM_CHARS; i++) {
    POINT_STARTS[len++] = units;
    const unit = token.charCodeAt(i);
    UNITS[units++] = unit;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < token.length) {
      const next = token.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        UNITS[units++] = next;
        i++;
      }
    }
  }
  if (len < MAX_NGRAM_CHARS) {
    POINT_STARTS[len++] = units;
    UNITS[units++] = 0x3e; // '>'
  }
  POINT_STARTS[len] = units;

  const { charNgramMin: min, charNgramMax: max } = config;
  if (slotStarts.length < max + 1) slotStarts = new Int32Array(max + 1);
  let slot = at + 1;
  for (let n = min; n <= max; n++) {
    slotStarts[n] = slot;
    slot += Math.max(0, len - n + 1);
  }
  for (let from = 0; from < len; from++) {
    let h = hash.char;
    const longest = Math.min(max, len - from);
    for (let n = 1; n <= longest; n++) {
      for (let u = POINT_STARTS[from + n - 1]!, end = POINT_STARTS[from + n]!; u < end; u++) {
        h ^= UNITS[u]!;
        h = Math.imul(h, FNV_PRIME) >>> 0;
      }
      if (n >= min) out[slotStarts[n]! + from] = rowOf(finish(h), table);
    }
  }
}

/**
 * Every id of a planned text, token after token: each token's bigram with the token before it
 * (where it has one), then its own ids (word and character n-grams; none for a stopword). A
 * window of tokens [from, to) is then one stretch of it: from the first token's own ids (its
 * bigram reaches outside the window, so is left out) to the last token's.
 */
function textIds(plan: Plan, hash: Seeded, table: Table, config: FeaturizerConfig): Int32Array {
  const { tokens, bigram, offsets } = plan;
  const ids = new Int32Array(offsets[tokens.length]!);
  // a token met before copies its own ids from where they were first written
  const written = new Map<string, number>();
  let at = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (bigram[i]) {
      // 'b ' + previous + ' ' + token
      const h = Math.imul(fnv(hash.bigram, tokens[i - 1]!) ^ 0x20, FNV_PRIME) >>> 0;
      ids[at++] = rowOf(finish(fnv(h, token)), table);
    }
    const end = offsets[i + 1]!;
    if (at === end) continue;
    const first = written.get(token);
    if (first === undefined) {
      written.set(token, at);
      writeOwnIds(token, hash, table, config, ids, at);
    } else {
      ids.copyWithin(at, first, first + (end - at));
    }
    at = end;
  }
  return ids;
}

type Range = readonly [from: number, to: number];

/** Windows of `size` tokens, one every `stride`, covering [from, to): the first starts at `from`. */
function slide(from: number, to: number, size: number, stride: number): Range[] {
  const out: Range[] = [];
  for (let start = from; ; start += stride) {
    out.push([start, Math.min(to, start + size)]);
    if (start + size >= to) break;
  }
  return out;
}

/** Token windows: [0, windowTokens), [stride, stride + windowTokens), ... covering every token. */
function windowRanges(length: number, config: FeaturizerConfig): Range[] {
  return slide(0, length, config.windowTokens, config.windowStride);
}

/** Sub-windows of `size` tokens every `size / 2` covering [from, to). */
function subWindows(from: number, to: number, size: number): Range[] {
  return slide(from, to, size, Math.max(1, Math.floor(size / 2)));
}

/**
 * Sentence spans: each sentence (short ones joined to the next), long sentences cut into
 * `spanTokens`-token sub-windows every `spanTokens / 2` and read by their first and last k tokens
 * for each k of `edgeSpanTokens` (a request after a benign preamble without sentence ends shares a
 * sub-window with a dozen of its words, and a few of them sink its score), and run-on ones (over
 * RUN_ON_SPANS spans' tokens) also cut into `runOnSpanTokens`-token ones, where a request among a
 * few hundred words without sentence ends would share each span with a dozen other words. None
 * when the text is one span: its window already says everything.
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
  const spans = sentences.flatMap(([from, to]): Range[] => {
    if (to - from <= size) return [[from, to]];
    const runOn = config.runOnSpanTokens > 0 && to - from > RUN_ON_SPANS * size;
    const edges = config.edgeSpanTokens
      .filter((k) => k < to - from)
      .flatMap((k): Range[] => [
        [from, from + k],
        [to - k, to],
      ]);
    return [...subWindows(from, to, size), ...(runOn ? subWindows(from, to, config.runOnSpanTokens) : []), ...edges];
  });
  const whole = windowRanges(text.tokens.length, config);
  return spans.length === 1 && whole.length === 1 && spans[0]![0] === whole[0]![0] && spans[0]![1] === whole[0]![1] ? [] : spans;
}

/** One text planned for featurizing: its tokens, the token ranges that become rows, and where each token's ids go. */
interface Plan {
  tokens: string[];
  ranges: Range[];
  /** 1 where a token has a bigram with the token before it. */
  bigram: Uint8Array;
  /** Where each token's ids (its bigram, then its own) start among the text's ids; one more entry: their count. */
  offsets: Int32Array;
}

/**
 * The texts a side is read as: itself; if it holds encoded runs, its decoded readings; if it is
 * written backwards, itself read forwards.
 */
function readings(text: string, config: FeaturizerConfig): string[] {
  const decoded = config.decodeViews ? decodedViews(text) : [];
  const forwards = config.reverseViews ? reversedView(text) : null;
  return forwards === null ? [text, ...decoded] : [text, ...decoded, forwards];
}

/** How many ids each token of a text makes, and so where they go (see textIds). */
function layout(tokens: string[], config: FeaturizerConfig): Pick<Plan, 'bigram' | 'offsets'> {
  const bigram = new Uint8Array(tokens.length);
  const offsets = new Int32Array(tokens.length + 1);
  let previousStop = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const stop = isStopword(token, config);
    const hasBigram = config.wordBigrams && i > 0 && !(stop && previousStop);
    bigram[i] = hasBigram ? 1 : 0;
    const own = stop ? 0 : isWord(token) ? 1 + ngramCount(codePoints(token), config) : 1;
    offsets[i + 1] = offsets[i]! + (hasBigram ? 1 : 0) + own;
    previousStop = stop;
  }
  return { bigram, offsets };
}

function plan(text: string, withSpans: boolean, config: FeaturizerConfig): Plan[] {
  return readings(text, config).map((reading) => {
    const tokenized = tokenizeWithSentences(reading);
    const ranges = windowRanges(tokenized.tokens.length, config);
    return {
      tokens: tokenized.tokens,
      ranges: withSpans ? [...ranges, ...spanRanges(tokenized, config)] : ranges,
      ...layout(tokenized.tokens, config),
    };
  });
}

/** Where the ids of tokens [from, to) start and end among the text's ids (see textIds). */
function stretch({ bigram, offsets }: Plan, [from, to]: Range): [start: number, end: number] {
  return from === to ? [0, 0] : [offsets[from]! + bigram[from]!, offsets[to]!];
}

function rangeIds(plan: Plan, range: Range): number {
  const [start, end] = stretch(plan, range);
  // a row without ids still makes one ('<empty>')
  return Math.max(end - start, 1);
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
  const promptRows = promptPlans.flatMap((p) => p.ranges.map((r) => rangeIds(p, r)));
  if (response === null) {
    return { prompt: promptPlans, response: null, ids: promptRows.reduce((a, b) => a + b, 0), rows: promptRows.length };
  }
  const responsePlans = plan(response, false, config);
  const responseRows = responsePlans.flatMap((p) => p.ranges.map((r) => rangeIds(p, r)));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // every prompt row is paired with every response row
  const ids = responseRows.length * sum(promptRows) + promptRows.length * sum(responseRows);
  return { prompt: promptPlans, response: responsePlans, ids, rows: promptRows.length * responseRows.length };
}

function rows(plans: Plan[], hash: Seeded, config: FeaturizerConfig): Int32Array[] {
  const table = tableOf(config);
  const empty = rowOf(finish(fnv(hash.start, '<empty>')), table);
  return plans.flatMap((p) => {
    const ids = textIds(p, hash, table, config);
    // rows are views of the text's ids: windows and spans overlap, their ids are stored once
    return p.ranges.map((range) => {
      const [start, end] = stretch(p, range);
      return end > start ? ids.subarray(start, end) : Int32Array.of(empty);
    });
  });
}

/**
 * The rows of a plan (see planFeatures): hashes every token once, and every row is a stretch of
 * those ids.
 */
export function featurizePlan(planned: FeaturizePlan, config: FeaturizerConfig): FeatureWindow[] {
  const promptRows = rows(planned.prompt, PROMPT_HASH, config);
  if (planned.response === null) return promptRows.map((prompt) => ({ prompt, response: null }));
  const responseRows = rows(planned.response, RESPONSE_HASH, config);
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
