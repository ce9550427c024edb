/**
 * Leetspeak undone inside words: one-character substitutes ("b0mb", "k!ll", "a$$") and the
 * extended multi-character ones ("|3()|\/||3", "|<1|_|_"). Part of the featurizer's
 * normalisation (normalize.ts), so training and serving read disguised words alike.
 *
 * Substitutes are ambiguous ("|_|" is "u", or "l" and a "|"), so a stretch of a word is first
 * decoded as a whole, trying longer substitutes first and backing off when the rest cannot be
 * read; only when no whole reading exists is it decoded piece by piece. Numbers, identifiers,
 * handles, e-mail addresses, function calls and sentence punctuation are left as they are.
 */

/** Substitutes, longer first where several start alike. */
const LEET: readonly (readonly [string, string])[] = [
  ['|\\/|', 'm'],
  ['/\\/\\', 'm'],
  ['\\/\\/', 'w'],
  ['|\\|', 'n'],
  ['/\\/', 'n'],
  ['|-|', 'h'],
  [']-[', 'h'],
  ['|_|', 'u'],
  ['(_)', 'u'],
  ['/-\\', 'a'],
  ['/\\', 'a'],
  ['|3', 'b'],
  ['()', 'o'],
  ['[]', 'o'],
  ['{}', 'o'],
  ['|)', 'd'],
  ['|<', 'k'],
  ['|{', 'k'],
  ['|_', 'l'],
  ['|*', 'p'],
  ['|2', 'r'],
  ['|=', 'f'],
  ['\\/', 'v'],
  ['`/', 'y'],
  ['_|', 'j'],
  ['0', 'o'],
  ['1', 'i'],
  ['3', 'e'],
  ['4', 'a'],
  ['5', 's'],
  ['7', 't'],
  ['8', 'b'],
  ['9', 'g'],
  ['@', 'a'],
  ['$', 's'],
  ['!', 'i'],
  ['|', 'l'],
];
const STARTS = new Map<string, (readonly [string, string])[]>();
for (const entry of LEET) STARTS.set(entry[0][0]!, [...(STARTS.get(entry[0][0]!) ?? []), entry]);
// Any character a substitute starts with: a run without one reads as it is written.
const ANY_START = new RegExp(`[${[...STARTS.keys()].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}]`);

// Characters a disguised word can be made of; anything else (".", ",", ":", "'", "?") separates.
const WORDY = /[\p{L}\p{N}|\\/()[\]{}_`*=!@$<-]/u;
const LETTER = /\p{L}/u;
const LOWER = /\p{Ll}/u;
const DIGIT = /^\p{N}$/u;
// Empty brackets end a function call ("main()", "arr[]") far more often than they spell an "o".
const CALL_SYNTAX = new Set(['()', '[]', '{}']);
// Symbols that are punctuation unless they sit inside a word, with a letter or substitute on
// both sides; after "!" a lower-case letter or another kind of substitute. "k!ll", "sh!t",
// "a$$", "f@g" are words; "wow!", "you!!!!", "please!Nigga", "@handle" and "$var" are not.
const CONTEXTUAL = new Set(['!', '|', '@', '$']);
// A number with a unit ("80s", "48mpg", "720p") or a name with a number ("uint8", "file1").
const NUMBERED = /^(?:\p{N}[\p{N}.,]*\p{L}{1,5}|\p{L}+\p{N}+)$/u;
// An e-mail address (or a URL with credentials): its "@" is not an "a".
const EMAIL = /\S@\S+\.\S/;

interface Reading {
  text: string;
  substitutes: number;
  letters: number;
  /** A multi-character substitute, or a symbol no number contains. */
  notANumber: boolean;
  /** A multi-character substitute. */
  multi: boolean;
}
const EMPTY: Reading = { text: '', substitutes: 0, letters: 0, notANumber: false, multi: false };

/** Whether `pattern` may stand for a letter at `at` of `stretch`, given what comes before and after. */
function fits(stretch: string, at: number, pattern: string, startsWord: boolean, firstLetter: number): boolean {
  const next = stretch[at + pattern.length];
  const goesOn = next !== undefined && (LETTER.test(next) || STARTS.has(next));
  // "main()" is a call; "7()" (to) is a word: brackets end a word only after substitutes alone
  if (CALL_SYNTAX.has(pattern)) return goesOn || firstLetter === -1 || firstLetter > at;
  if (!CONTEXTUAL.has(pattern)) return true;
  // "a$$" ends in a doubled symbol; "a$" (a regex anchor) and "wow!" end in punctuation
  if (startsWord || !(goesOn || (pattern === '$' && stretch[at - 1] === '$'))) return false;
  if (pattern !== '!' || LOWER.test(next!)) return true;
  // "!" before a substitute: only one that is spelled out there ("sh!7"), not "println!(" or "!!"
  const after = at + 1;
  return (
    next !== '!' && !LETTER.test(next!) && (STARTS.get(next!) ?? []).some(([p]) => !CALL_SYNTAX.has(p) && stretch.startsWith(p, after))
  );
}

// What a reading pays for a substitute that is less likely than another reading of the same
// characters: a lone symbol ("|" as "l") or "_|" as "j" ("|_|_|" is "lu", not "uj").
const UNLIKELY = new Map([
  ['|', 1],
  ['!', 1],
  ['$', 1],
  ['@', 1],
  ['_|', 2],
]);

/** Longest stretch read as one word; longer ones (URLs, blobs) are read piece by piece. */
const MAX_WHOLE = 64;

/**
 * The whole stretch read as one word, or null when no reading uses every character; of several
 * readings, the one with the fewest unlikely substitutes (then the longest substitutes first).
 * Built from the end backwards, so it costs one pass over the stretch per substitute tried.
 */
function readWhole(stretch: string, firstLetter: number): Reading | null {
  if (stretch.length > MAX_WHOLE) return null;
  // best[at]: the best reading of stretch.slice(at), or null when it has none
  const best: ({ reading: Reading; cost: number } | null)[] = new Array(stretch.length + 1).fill(null);
  best[stretch.length] = { reading: EMPTY, cost: 0 };
  for (let at = stretch.length - 1; at >= 0; at--) {
    let found: { reading: Reading; cost: number } | null = null;
    const ch = stretch[at]!;
    const after = best[at + 1];
    if (LETTER.test(ch) && after) {
      found = { reading: { ...after.reading, text: ch + after.reading.text, letters: after.reading.letters + 1 }, cost: after.cost };
    }
    for (const [pattern, letter] of STARTS.get(ch) ?? []) {
      if (!stretch.startsWith(pattern, at) || !fits(stretch, at, pattern, at === 0, firstLetter)) continue;
      const rest = best[at + pattern.length];
      if (!rest) continue;
      const cost = rest.cost + (UNLIKELY.get(pattern) ?? 0);
      if (found && found.cost <= cost) continue;
      const r = rest.reading;
      const multi = r.multi || pattern.length > 1;
      const notANumber = r.notANumber || multi || !DIGIT.test(pattern);
      found = { reading: { text: letter + r.text, substitutes: r.substitutes + 1, letters: r.letters, notANumber, multi }, cost };
    }
    best[at] = found;
  }
  return best[0]?.reading ?? null;
}

/**
 * Whether a reading is a disguised word: a substitute used, not a number ("2024", "1337"), a unit
 * ("80s") or an identifier ("uint8"); one letter only when spelled with a multi-character
 * substitute ("/\\" for "a").
 */
function accepted(original: string, reading: Reading): boolean {
  if (reading.substitutes === 0 || NUMBERED.test(original)) return false;
  return (reading.letters > 0 || reading.notANumber) && (reading.text.length >= 2 || reading.multi);
}

/** Piece by piece: substitutes that do not fit where they stand separate the pieces. */
function readPieces(stretch: string, firstLetter: number): string {
  let out = '';
  let from = 0;
  let piece = EMPTY;
  const flush = (to: number) => {
    const original = stretch.slice(from, to);
    out += accepted(original, piece) ? piece.text : original;
    piece = EMPTY;
  };
  for (let at = 0; at < stretch.length;) {
    const ch = stretch[at]!;
    if (LETTER.test(ch)) {
      piece = { ...piece, text: piece.text + ch, letters: piece.letters + 1 };
      at++;
      continue;
    }
    const match = (STARTS.get(ch) ?? []).find(
      ([pattern]) => stretch.startsWith(pattern, at) && fits(stretch, at, pattern, piece.text === '', firstLetter),
    );
    if (!match) {
      flush(at);
      out += ch;
      from = at + 1;
      at++;
      continue;
    }
    const [pattern, letter] = match;
    piece = {
      text: piece.text + letter,
      substitutes: piece.substitutes + 1,
      letters: piece.letters,
      notANumber: piece.notANumber || pattern.length > 1 || !DIGIT.test(pattern),
      multi: piece.multi || pattern.length > 1,
    };
    at += pattern.length;
  }
  flush(stretch.length);
  return out;
}

function unleetStretch(stretch: string): string {
  const firstLetter = stretch.search(LETTER);
  const whole = readWhole(stretch, firstLetter);
  if (whole) return accepted(stretch, whole) ? whole.text : stretch;
  return readPieces(stretch, firstLetter);
}

/**
 * A whitespace-free run of text with leetspeak undone in each word-like stretch of it (`unleet`
 * hands it only runs that hold a character that can start a leet spelling).
 * Works on text before lower-casing: whether "!" spells an "i" depends on the case after it.
 * @example unleetRun('B0mb-m4king,') // 'Bomb-making,'
 * @example unleetRun('|3()|\\/||3') // 'bomb'
 */
function unleetRun(run: string): string {
  if (EMAIL.test(run)) return run;
  let out = '';
  let stretch = '';
  for (const ch of run) {
    if (WORDY.test(ch)) {
      stretch += ch;
      continue;
    }
    if (stretch) out += unleetStretch(stretch);
    stretch = '';
    out += ch;
  }
  if (stretch) out += unleetStretch(stretch);
  return out;
}

// A whitespace-free run with a character in it that can start a leet spelling, the only runs that
// can hold any. Anchored at the run's start, so a run without one costs one pass, not one per
// character.
const LEET_RUN = new RegExp(`(?<!\\S)\\S*${ANY_START.source}\\S*`, 'g');

/**
 * Text with leetspeak undone in each whitespace-free run of it (see unleetRun); runs with no
 * character that can start a leet spelling, most words of most text, are not looked at (nor is
 * text without one, after one scan).
 * @example unleet('how to make a b0mb') // 'how to make a bomb'
 */
export function unleet(text: string): string {
  return ANY_START.test(text) ? text.replace(LEET_RUN, unleetRun) : text;
}
