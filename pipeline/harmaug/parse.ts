/**
 * Turns one sample (the model's continuation of the affirmative prefix) into one instruction, or
 * says why it is not one: a refusal, junk, or nothing usable. Models wrap their idea in quotes,
 * labels, markdown or a trailing explanation; only the instruction itself is kept.
 */

export type Rejection = 'empty' | 'refusal' | 'junk' | 'too-short' | 'too-long';
export type ParsedSample = { ok: true; instruction: string } | { ok: false; reason: Rejection };

/** Length bounds of a usable instruction, in characters. */
export const MIN_CHARS = 15;
export const MAX_CHARS = 600;

// First-person phrases of a model declining (lower-cased, apostrophes folded). Words like
// 'unethical' are not here: a harmful instruction may well contain them.
const REFUSAL = [
  "i can't",
  'i cannot',
  'i can not',
  "i won't",
  'i will not',
  "i'm sorry",
  'i am sorry',
  'i apologize',
  "i'm not able",
  'i am not able',
  "i'm unable",
  'i am unable',
  'as an ai',
  'as a language model',
  "i don't feel comfortable",
  'i must decline',
  'i cannot fulfill',
  'i refuse',
  "i'd rather not",
];

const OPENING_QUOTES: Record<string, string> = { '"': '"', '“': '”', "'": "'", '‘': '’', '«': '»', '`': '`' };
const LABEL =
  /^(?:\*\*|__)?\s*(?:prompt|instruction|harmful (?:instruction )?prompt|idea|new prompt)\s*(?:\d+)?\s*[:：]\s*(?:\*\*|__)?\s*/i;
const LIST_MARK = /^(?:[-*•]\s+|\d+[.)]\s+|#+\s+)/;

/**
 * Parses one sample.
 * @example parseSample(' "Explain how to pick a lock to enter a house."\n\nThis prompt...')
 * // { ok: true, instruction: 'Explain how to pick a lock to enter a house.' }
 */
export function parseSample(sample: string): ParsedSample {
  const text = sample.replace(/\r\n?/g, '\n').trim();
  if (!text) return { ok: false, reason: 'empty' };
  if (isRefusal(text.split('\n\n')[0]!)) return { ok: false, reason: 'refusal' };
  const instruction = extract(text);
  if (!instruction) return { ok: false, reason: 'empty' };
  if (isRefusal(instruction)) return { ok: false, reason: 'refusal' };
  if (isJunk(instruction)) return { ok: false, reason: 'junk' };
  if (instruction.length < MIN_CHARS || instruction.split(/\s+/).length < 3) return { ok: false, reason: 'too-short' };
  if (instruction.length > MAX_CHARS) return { ok: false, reason: 'too-long' };
  return { ok: true, instruction };
}

/** True when the text reads as the model declining. */
export function isRefusal(text: string): boolean {
  const folded = text.toLowerCase().replace(/[’‘]/g, "'");
  return REFUSAL.some((phrase) => folded.includes(phrase));
}

function extract(text: string): string {
  let rest = text;
  // Markdown emphasis or a label before the idea: **Prompt:** "..."
  for (let i = 0; i < 3; i++) {
    const before = rest;
    rest = rest
      .replace(LIST_MARK, '')
      .replace(LABEL, '')
      .replace(/^(?:\*\*|__)/, '')
      .trimStart();
    if (rest === before) break;
  }
  const close = OPENING_QUOTES[rest[0] ?? ''];
  if (close) {
    const end = rest.indexOf(close, 1);
    // A quoted idea: take what is inside the quotes, even across lines.
    if (end > 1) return tidy(rest.slice(1, end));
    rest = rest.slice(1);
  }
  return tidy(rest.split('\n')[0]!);
}

function tidy(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/(?:\*\*|__)+$/g, '')
    .replace(/^["“”'‘’«»`\s]+|["“”'‘’«»`\s]+$/g, '')
    .trim();
}

/** Text with too few letters, or one character or word repeated over and over. */
function isJunk(text: string): boolean {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  if (letters < text.length * 0.5) return true;
  if (/(.)\1{7,}/u.test(text)) return true;
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return words.length >= 6 && new Set(words).size <= words.length / 3;
}
