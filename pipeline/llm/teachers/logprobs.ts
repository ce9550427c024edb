/**
 * Teacher probability from the first generated token's log-probabilities: Llama Guard answers
 * "safe" or "unsafe", and P(unsafe) is the softmax over those two tokens' logprobs (renormalised,
 * so the probability mass on other tokens is ignored).
 */
import { LlmError } from '../llm-error.ts';

/** A token as the verdict word it spells: byte-level markers and surrounding spaces removed. */
function word(token: string): string {
  return token.replace(/^[Ġ▁]+/, '').trim();
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/**
 * P(unsafe) from one position's top logprobs. Variants of a word (" safe", "safe") are pooled.
 * When one of the two words is not among the listed alternatives, its logprob is at most the
 * smallest one listed, which is used as its value: the score stays finite and errs toward the
 * listed word's side only as far as the evidence allows.
 * @returns null when neither word is listed
 * @example pUnsafe({ safe: -0.1, unsafe: -2.4 }) // e^-2.4 / (e^-0.1 + e^-2.4) = 0.0911
 */
export function pUnsafe(top: Record<string, number>): number | null {
  const safe: number[] = [];
  const unsafe: number[] = [];
  for (const [token, logprob] of Object.entries(top)) {
    const w = word(token);
    if (w === 'safe') safe.push(logprob);
    else if (w === 'unsafe') unsafe.push(logprob);
  }
  if (safe.length === 0 && unsafe.length === 0) return null;
  const floor = Math.min(...Object.values(top));
  const ls = safe.length ? logSumExp(safe) : floor;
  const lu = unsafe.length ? logSumExp(unsafe) : floor;
  return 1 / (1 + Math.exp(ls - lu));
}

/**
 * P(unsafe) at the first generated position that is not whitespace: the verdict token. Looks at
 * most at the first three positions (servers that do not take the appended "\n\n" as given may
 * generate it again first).
 * @throws LlmError (malformed, not retried) when no position lists "safe" or "unsafe"
 */
export function verdictProbability(topLogprobs: Array<Record<string, number> | null>): number {
  for (const top of topLogprobs.slice(0, 3)) {
    if (!top) continue;
    const best = Object.entries(top).sort((a, b) => b[1] - a[1])[0];
    if (!best || word(best[0]) === '') continue; // a whitespace token comes before the verdict
    const p = pUnsafe(top);
    if (p !== null) return p;
  }
  throw new LlmError(`teacher answer has no 'safe'/'unsafe' among its first tokens' logprobs: ${JSON.stringify(topLogprobs.slice(0, 3))}`, { kind: 'malformed', retryable: false });
}
