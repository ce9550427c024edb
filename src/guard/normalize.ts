/**
 * Text -> the canonical text the featurizer reads. Pure and dependency-light: part of the one
 * featurizer the worker and the pipeline share, so training sees every fold exactly as serving does.
 *
 * Attackers disguise a request so that a guard sees other characters than a reader does. Each
 * step below undoes one family of disguise, deterministically, so the disguised and the plain
 * text featurize the same:
 * 1. Unicode compatibility forms folded (NFKC: full-width, styled and mathematical letters to
 *    plain ones) and lower case;
 * 2. invisible characters dropped: zero-width and bidi controls, soft hyphens, variation
 *    selectors, Unicode tag characters (U+E0000..E007F);
 * 3. combining marks of the general-purpose blocks dropped: strike-through (U+0336), Zalgo
 *    stacks, and dots or accents put on a letter to disguise it ("ḃȯṁḃ", "bömb"). An accented
 *    word stays one word and reads as its unaccented form ("café" as "cafe", "naïve" as
 *    "naive"); the marks of other scripts (Devanagari vowel signs, Arabic harakat, Hebrew points)
 *    are in blocks of their own and stay;
 * 4. text spaced out ("b o m b", words apart by wider gaps) or letters joined by dots and dashes
 *    ("b.o.m.b", "b-o-m-b") rejoined;
 * 5. leetspeak undone inside a word (leet.ts): one-character substitutes ("b0mb", "k!ll") and the
 *    extended multi-character ones ("|3()|\/||3");
 * 6. confusable letters of other scripts folded to the Latin letters they look like, by Unicode's
 *    confusables data (UTS #39, `confusables.txt` as packaged by `unhomoglyph`), in words whose
 *    every letter can be read as Latin ("ріре", "bɑnk"), so Russian or Greek text keeps its own
 *    letters.
 */
import CONFUSABLES from 'unhomoglyph/data.json' with { type: 'json' };
import { unleet } from './leet.ts';

// Invisible characters attackers use to split words ("b\u200Bomb"): soft hyphen, joiners, bidi
// controls, BOM, Hangul fillers, variation selectors, and the tag block (U+E0000..E007F).
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;

// Combining marks of the general-purpose blocks: diacritics, their extensions and supplements,
// marks for symbols, half marks.
const MARKS = /[\u0300-\u036F\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F]/g;

// Single characters with one space between each ("b o m b ."), in groups told apart by wider gaps
// ("h o w  t o"). A stretch is spaced-out text when a group has three or more characters and one
// of them is a letter ("1 2 3" and "a b" stay as they are); joining punctuation changes no token.
const SPACED = /(?<!\S)\S(?: {1,3}\S)+(?!\S)/gu;
const SPACED_GROUP = /(?:^| )\S(?: \S){2,}(?: |$)/u;
// Three or more single letters or digits joined by one repeated separator ("b.o.m.b", "b*o*m*b"),
// or two joined by a dot or a dash ("m.e", "t-o"). Not "+", ":" or "," (arithmetic, times, lists) nor "|" and "/",
// which spell letters in leetspeak ("c|2" is "cr").
const JOINED = /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:([\-_*·•~.])[\p{L}\p{N}](?:\1[\p{L}\p{N}])+|[.-][\p{L}\p{N}])(?![\p{L}\p{N}])/gu;
const HAS_LETTER = /\p{L}/u;

// Non-ASCII letters whose confusables prototype is made of Latin letters only, lower-cased:
// 'р' (Cyrillic er) -> 'p', 'ɑ' (Latin alpha) -> 'a', 'օ' (Armenian oh) -> 'o'. ASCII itself is
// never remapped ("m" is not turned into "rn", "1" not into "l"). Text is folded (NFKC, marks,
// lower case) before it is looked up here, so a compatibility form's entry is keyed by its folded
// form ('ϲ' is looked up as 'ς'), unless the folded form has an entry of its own.
const TO_LATIN = new Map<string, string>();
const derived = new Map<string, string>();
for (const [from, to] of Object.entries(CONFUSABLES as Record<string, string>)) {
  const latin = to.toLowerCase();
  // a capital's lower case is another letter with entries of its own ('В' reads as 'B', 'в' does not)
  const key = from.normalize('NFKD').replace(MARKS, '').normalize('NFC');
  if (!/^[a-z]+$/.test(latin) || [...key].length !== 1 || key.codePointAt(0)! <= 0x7f || key !== key.toLowerCase()) continue;
  if (key === from) TO_LATIN.set(key, latin);
  else if (!derived.has(key)) derived.set(key, latin);
}
for (const [key, latin] of derived) if (!TO_LATIN.has(key)) TO_LATIN.set(key, latin);
/** Any character outside ASCII: text without one skips the Unicode steps (and the featurizer's Unicode tokenizer). */
export const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A word (letters and marks) with confusable letters folded to Latin, when every letter of it can be read as Latin;
 * otherwise unchanged (a Russian word keeps "и", and with it every other letter).
 * @example foldConfusables('ріре') // 'pipe'
 */
function foldConfusables(word: string): string {
  if (!NON_ASCII.test(word)) return word;
  let out = '';
  for (const ch of word) {
    const latin = ch.charCodeAt(0) < 0x80 ? ch : TO_LATIN.get(ch);
    if (latin !== undefined) out += latin;
    else if (HAS_LETTER.test(ch)) return word;
    else out += ch;
  }
  return out;
}

/**
 * Normalises text the way attackers force us to (see the module comment for the steps, in
 * order). Deterministic; never longer than NFKC makes it, apart from a confusable letter that
 * reads as two Latin ones.
 * @example normalize('Ｈｏｗ to b\u200Bomb') // 'how to bomb'
 * @example normalize('h o w  t o  m a k e  a  b.o.m.b') // 'how to make a bomb'
 * @example normalize('|3()|\\/||3') // 'bomb'
 */
export function normalize(text: string): string {
  // ASCII has no compatibility forms, invisible characters, marks or confusables: those steps
  // change nothing in it, and are skipped
  const plain = NON_ASCII.test(text) ? text.normalize('NFKD').replace(INVISIBLE, '').replace(MARKS, '').normalize('NFC') : text;
  const rejoined = plain
    .replace(SPACED, (run) =>
      HAS_LETTER.test(run) && SPACED_GROUP.test(run)
        ? run
            .split(/ {2,}/)
            .map((group) => group.replaceAll(' ', ''))
            .join(' ')
        : run,
    )
    .replace(JOINED, (run) => (HAS_LETTER.test(run) ? run.replace(/[.\-_*·•~]/g, '') : run));
  // leetspeak before lower-casing: whether "!" is a letter depends on the case after it;
  // lower-casing can leave a mark behind ("İ" -> "i" + U+0307), so marks go once more
  const lower = unleet(rejoined).toLowerCase();
  if (!NON_ASCII.test(lower)) return lower;
  return lower
    .normalize('NFD')
    .replace(MARKS, '')
    .normalize('NFC')
    .replace(/[\p{L}\p{M}]+/gu, foldConfusables);
}
