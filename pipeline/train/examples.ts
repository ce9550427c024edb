/** Prepared rows -> what the trainer consumes: feature windows and targets. */
import { featurize, type FeaturizerConfig } from '../../src/guard/featurize.ts';
import { CATEGORY_LABELS, broadOf } from '../data/categories.ts';
import type { PreparedExample } from '../data/prepare.ts';
import { policyFor } from '../data/sources.ts';
import type { TrainExample } from './trainer.ts';

/**
 * Category targets: 1 where the row's categories name a label, 0 where they don't, NaN when
 * unknown. A fine label ("self-harm/intent") that is not named is 0 when its source marks fine
 * labels or its broad label is 0, and unknown otherwise (a Davidson "hate" row may or may not be
 * threatening).
 * @param fine whether the row's source marks every fine label that applies
 * @param strength the target of a named label: 1, or a soft row's score (crude talk that is
 *   0.3 harmful is 0.3 harassment, not 1)
 */
export function categoryTargets(categories: string[] | null, fine = false, strength = 1): Float32Array {
  return Float32Array.from(CATEGORY_LABELS, (c) => {
    if (categories === null) return Number.NaN;
    if (categories.includes(c)) return strength;
    if (c === broadOf(c) || fine || !categories.includes(broadOf(c))) return 0;
    return Number.NaN;
  });
}

export function toTrainExample(ex: PreparedExample, featurizer: FeaturizerConfig): TrainExample {
  return {
    windows: featurize(ex.prompt, ex.response, featurizer),
    target: {
      label: ex.label,
      soft: ex.score,
      categories: categoryTargets(ex.categories, policyFor(ex.source).fine, ex.label === null && ex.score !== null ? ex.score : 1),
    },
    source: ex.source,
    shape: ex.response !== null ? 'pair' : ex.kind === 'content' ? 'content' : 'request',
  };
}
