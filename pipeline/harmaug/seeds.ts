/**
 * The labelled seed set of augmentation: any JSONL in the Example schema (e.g.
 * ../shared/data/advbench.jsonl). Its harmful rows (label 1) are the exemplars; all its rows are
 * what generated instructions must not duplicate. Exemplars for one sample are drawn from a
 * generator seeded by the run seed and the sample number, so a rerun sends the same requests.
 */
import { textKey } from '../data/dedupe.ts';
import { streamJsonl } from '../data/jsonl.ts';
import { type Example, ExampleSchema } from '../data/schema.ts';
import { CLIError } from '../errors.ts';
import { createRng } from '../rng.ts';

export interface SeedSet {
  /** Harmful seed rows, one per distinct text. */
  exemplars: Example[];
  /** Every seed row (for dedupe). */
  all: Example[];
}

/** Reads seed files; throws CLIError when they hold no harmful row. */
export async function loadSeeds(paths: string[]): Promise<SeedSet> {
  const all: Example[] = [];
  for (const path of paths) for await (const row of streamJsonl(path, ExampleSchema)) all.push(row);
  const seen = new Set<string>();
  const exemplars = all.filter((row) => {
    if (row.label !== 1) return false;
    const key = textKey(row.prompt);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (exemplars.length === 0) throw new CLIError(`--seed-data: no harmful rows (label 1) in ${paths.join(', ')}`);
  return { exemplars, all };
}

/** Mixes the run seed and the sample number into one 32-bit seed. */
export function sampleSeed(runSeed: number, sample: number): number {
  let h = Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(sample + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) % 2 ** 31;
}

/**
 * k distinct exemplars for sample number `sample` (fewer if the seed set is smaller).
 * @example pickExemplars(seeds.exemplars, 3, 0, 7).map((e) => e.prompt)
 */
export function pickExemplars(exemplars: Example[], k: number, runSeed: number, sample: number): Example[] {
  const rng = createRng(sampleSeed(runSeed, sample));
  const chosen = new Set<number>();
  const want = Math.min(k, exemplars.length);
  while (chosen.size < want) chosen.add(Math.floor(rng() * exemplars.length));
  return [...chosen].map((i) => exemplars[i]!);
}
