/**
 * Rephrasing: the same request in another common form ("How do I X?" -> "What is the best way to
 * X?", "Write X" -> "Could you write X for me?"), for harmful and benign requests alike.
 *
 * Public harmful sets each phrase their requests one way (advbench "Write a script that…",
 * harmfulqa "How can I use … to …"), and benign sets another, so a bag of words learns the
 * phrasing instead of the request: "Can you describe a rainbow in detail?" scored 0.99 and
 * "What is the process for making a bioweapon?" 0.01. Giving both classes the same forms makes
 * the form carry no label, so what is asked has to.
 *
 * Only short one-line requests whose form is recognised are rephrased; the rest are left alone.
 */
import type { Rng } from '../rng.ts';

/** How-to forms: the core is what the asker wants to do ("make a bomb", "bake bread"). */
const HOW_TO_FORMS: RegExp[] = [
  /^(?:please,? )?(?:can|could|would|will) you (?:please )?(?:tell|show|teach) (?:me|us) how (?:to|i can|i could|one can) (.+)$/,
  /^(?:please,? )?(?:can|could|would|will) you (?:please )?explain how (?:to|i can|one can) (.+)$/,
  /^how (?:do|can|could|would|should|might) (?:i|we|one|someone|a person) (.+)$/,
  /^how to (.+)$/,
  /^what(?:'s| is| are| would be) (?:the |some |a )?(?:best |easiest |simplest |most effective |quickest |fastest |good )?(?:way|ways|method|methods|steps) to (.+)$/,
  /^(?:explain|describe|tell me|show me|teach me)(?: in detail| step by step)? how (?:to|i can|one can) (.+)$/,
  /^(?:give|provide|write) (?:me )?(?:a |an )?(?:detailed |step-by-step )?(?:instructions|guide|tutorial|steps) (?:on|for) how to (.+)$/,
  /^i (?:want|need|would like) to (.+)$/,
  /^is (?:it|there a way) possible to (.+)$/,
  /^is there (?:a|an) (?:easy |simple |good )?way to (.+)$/,
];

/** Task forms: the core is what the assistant is asked to do ("write a poem about the sea"). */
const TASK_FORMS: RegExp[] = [
  /^(?:please,? )?(?:can|could|would|will) you (?:please )?((?:write|create|develop|generate|draft|compose|design|produce|list|outline|suggest|give|provide|describe|summarize|summarise|make|build|plan|recommend|share|find|come up with)\b.+)$/,
  /^(?:please,? )?((?:write|create|develop|generate|draft|compose|design|produce|list|outline|suggest|give|provide|describe|summarize|summarise|make|build|plan|recommend|share|find|come up with)\b.+)$/,
];

const HOW_TO_SCAFFOLDS = [
  'How do I {c}?',
  'How can I {c}?',
  'How to {c}?',
  'how would someone {c}',
  'What is the best way to {c}?',
  'What are some ways to {c}?',
  'What are the steps to {c}?',
  'Explain how to {c}.',
  'Describe in detail how to {c}.',
  'Tell me how to {c}.',
  'Can you tell me how to {c}?',
  'Could you explain how to {c}?',
  'Give me step-by-step instructions to {c}.',
  'Write a guide on how to {c}.',
  'I want to {c}. Where do I start?',
  'I need to {c}, any tips?',
  'Is there an easy way to {c}?',
  'Teach me how to {c}.',
  '{C}.',
  'Help me {c}.',
];

const TASK_SCAFFOLDS = [
  '{C}.',
  'Please {c}.',
  'Can you {c}?',
  'Could you {c} for me?',
  'I need you to {c}.',
  "I'd like you to {c}.",
  'Your task is to {c}.',
  'Hey, {c}.',
  '{C}, please.',
  'Would you {c}?',
];

const MAX_CHARS = 300;
const BAD_START = /^(?:i|you|it|that|this|he|she|they|we)\b/;

function core(text: string, forms: RegExp[]): string | null {
  for (const form of forms) {
    const match = form.exec(text);
    if (!match) continue;
    const c = match[1]!.trim();
    const words = c.split(/\s+/).length;
    if (words >= 2 && words <= 40 && !BAD_START.test(c)) return c;
  }
  return null;
}

const fill = (scaffold: string, c: string) => scaffold.replace('{C}', c.charAt(0).toUpperCase() + c.slice(1)).replace('{c}', c);

/**
 * The request in another form, or null when its form is not one we know.
 * @example rephrase('How do I bake bread?', rng) // e.g. 'What are the steps to bake bread?'
 */
export function rephrase(prompt: string, rng: Rng): string | null {
  const text = prompt.trim();
  if (text.length > MAX_CHARS || text.includes('\n')) return null;
  const plain = text
    .replace(/[?.!]+$/, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
  const howTo = core(plain, HOW_TO_FORMS);
  const c = howTo ?? core(plain, TASK_FORMS);
  if (c === null) return null;
  // keep the request's own casing (names, acronyms) inside the core
  const start = text.toLowerCase().replace(/\s+/g, ' ').lastIndexOf(c);
  const cased = start >= 0 ? text.replace(/\s+/g, ' ').slice(start, start + c.length) : c;
  // "Write a poem" -> "write a poem" inside a sentence; "NASA" and "I" stay as they are
  const first = cased.split(' ')[0]!;
  const original =
    first.length > 1 && first.slice(1) !== first.slice(1).toLowerCase() ? cased : cased.charAt(0).toLowerCase() + cased.slice(1);
  const scaffolds = howTo ? HOW_TO_SCAFFOLDS : TASK_SCAFFOLDS;
  for (let tries = 0; tries < 4; tries++) {
    const out = fill(scaffolds[Math.floor(rng() * scaffolds.length)]!, original);
    if (out.toLowerCase().replace(/[?.!]+$/, '') !== plain) return out;
  }
  return null;
}
