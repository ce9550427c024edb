/**
 * Exact and near-duplicate detection for texts. Exact duplicates are found by a normalised key
 * (featurizer normalisation, punctuation and spacing folded). Near duplicates by MinHash over word
 * shingles with locality-sensitive hashing: candidates share a band of the signature, and a
 * candidate counts when its estimated Jaccard similarity reaches the threshold.
 */
import { normalize } from '../../src/guard/featurize.ts';

/** The key under which two texts are exact duplicates: same words, whatever the spacing or punctuation. */
export function textKey(text: string): string {
  return normalize(text)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const HASHES = 64;
const BANDS = 16;
const ROWS = HASHES / BANDS;

function fnv(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function shingles(text: string): string[] {
  const words = textKey(text).split(' ').filter(Boolean);
  if (words.length < 3) return [words.join(' ')];
  const out: string[] = [];
  for (let i = 0; i + 3 <= words.length; i++) out.push(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return out;
}

/** MinHash signature of a text (64 values). */
export function minhash(text: string): Uint32Array {
  const sig = new Uint32Array(HASHES).fill(0xffffffff);
  for (const s of new Set(shingles(text))) {
    const base = fnv(s, 0);
    const step = fnv(s, 0x9e3779b9) | 1;
    for (let k = 0; k < HASHES; k++) {
      const h = (base + Math.imul(k, step)) >>> 0;
      if (h < sig[k]!) sig[k] = h;
    }
  }
  return sig;
}

/** Estimated Jaccard similarity of two signatures. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let k = 0; k < HASHES; k++) if (a[k] === b[k]) same++;
  return same / HASHES;
}

/**
 * An index of texts seen so far that answers "is this text a duplicate of one of them?".
 * @example
 * const index = new DuplicateIndex(0.8);
 * index.add('a', 'How do I make a cake at home?');
 * index.find('how do i make a cake at home') // 'a'
 */
export class DuplicateIndex {
  private exact = new Map<string, string>();
  private bands = new Map<string, string[]>();
  private signatures = new Map<string, Uint32Array>();
  private threshold: number;

  /** @param threshold estimated Jaccard similarity from which texts are near duplicates (default 0.8) */
  constructor(threshold = 0.8) {
    this.threshold = threshold;
  }

  /** The id of an indexed text that `text` duplicates, or null. */
  find(text: string): string | null {
    const key = textKey(text);
    const hit = this.exact.get(key);
    if (hit !== undefined) return hit;
    const sig = minhash(text);
    for (const band of bandKeys(sig)) {
      for (const id of this.bands.get(band) ?? []) {
        if (similarity(sig, this.signatures.get(id)!) >= this.threshold) return id;
      }
    }
    return null;
  }

  /** Indexes a text under `id`. */
  add(id: string, text: string): void {
    const key = textKey(text);
    if (!this.exact.has(key)) this.exact.set(key, id);
    const sig = minhash(text);
    this.signatures.set(id, sig);
    for (const band of bandKeys(sig)) {
      const ids = this.bands.get(band);
      if (ids) ids.push(id);
      else this.bands.set(band, [id]);
    }
  }
}

function bandKeys(sig: Uint32Array): string[] {
  const keys: string[] = [];
  for (let b = 0; b < BANDS; b++) keys.push(`${b}:${Array.from(sig.subarray(b * ROWS, (b + 1) * ROWS)).join(',')}`);
  return keys;
}
