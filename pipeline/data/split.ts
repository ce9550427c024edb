/**
 * Deterministic splits. A row's split depends only on a hash of its group, so the same data gives
 * the same split on any machine, and rows that share a request never straddle two splits.
 * Leave-one-dataset-out: the held-out sources go to `test` whole, and eval-only sets never train.
 */
import type { PreparedExample } from './prepare.ts';

export type Split = 'train' | 'val' | 'test';

function unitHash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

export interface SplitOptions {
  /** Share of training groups kept for validation (early stopping, threshold choice). */
  valFraction: number;
  /** Sources held out entirely (leave-one-dataset-out); they and eval-only sets form `test`. */
  holdout: string[];
  seed: number;
}

/** Which split a row belongs to. */
export function splitOf(ex: PreparedExample, options: SplitOptions): Split {
  if (ex.use === 'eval-only' || options.holdout.includes(ex.source)) return 'test';
  return unitHash(ex.group, options.seed) < options.valFraction ? 'val' : 'train';
}

/** Splits examples into train, val and test. */
export function split(examples: PreparedExample[], options: SplitOptions): Record<Split, PreparedExample[]> {
  const out: Record<Split, PreparedExample[]> = { train: [], val: [], test: [] };
  for (const ex of examples) out[splitOf(ex, options)].push(ex);
  return out;
}
