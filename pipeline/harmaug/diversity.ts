/**
 * How varied a set of generated instructions is, to report after augmentation:
 * distinct-n (unique n-grams over all n-grams, Li et al., 2016) for n = 1, 2, 3, and the mean
 * pairwise Jaccard similarity of word-trigram sets (lower is more diverse), over at most
 * `maxPairs` pairs drawn deterministically so the report is quick and reproducible.
 */
import { textKey } from '../data/dedupe.ts';
import { createRng } from '../rng.ts';

export interface DiversityReport {
  count: number;
  distinct1: number;
  distinct2: number;
  distinct3: number;
  meanPairwiseJaccard: number;
  pairs: number;
  meanWords: number;
}

function ngrams(words: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= words.length; i++) out.push(words.slice(i, i + n).join(' '));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

/**
 * @example diversity(['how to pick a lock', 'how to pick a lock']).distinct1 // 0.5
 */
export function diversity(texts: string[], maxPairs = 20_000): DiversityReport {
  const words = texts.map((t) => textKey(t).split(' ').filter(Boolean));
  const distinct = (n: number) => {
    const all = words.flatMap((w) => ngrams(w, n));
    return all.length ? new Set(all).size / all.length : 0;
  };
  const sets = words.map((w) => new Set(w.length >= 3 ? ngrams(w, 3) : [w.join(' ')]));
  const total = (texts.length * (texts.length - 1)) / 2;
  let sum = 0;
  let pairs = 0;
  if (total <= maxPairs) {
    for (let i = 0; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++, pairs++) sum += jaccard(sets[i]!, sets[j]!);
  } else {
    const rng = createRng(1);
    for (; pairs < maxPairs; pairs++) {
      const i = Math.floor(rng() * sets.length);
      let j = Math.floor(rng() * (sets.length - 1));
      if (j >= i) j++;
      sum += jaccard(sets[i]!, sets[j]!);
    }
  }
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    count: texts.length,
    distinct1: round(distinct(1)),
    distinct2: round(distinct(2)),
    distinct3: round(distinct(3)),
    meanPairwiseJaccard: pairs ? round(sum / pairs) : 0,
    pairs,
    meanWords: texts.length ? round(words.reduce((s, w) => s + w.length, 0) / texts.length) : 0,
  };
}
