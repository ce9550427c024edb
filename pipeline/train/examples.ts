/** Prepared rows -> what the trainer consumes: feature windows and targets. */
import { featurize, type FeaturizerConfig } from '../../src/guard/featurize.ts';
import { CATEGORY_LABELS } from '../data/categories.ts';
import type { PreparedExample } from '../data/prepare.ts';
import type { TrainExample } from './trainer.ts';

/** Category targets: 1 where the row's categories name it, 0 where they don't, NaN when unknown. */
export function categoryTargets(categories: string[] | null): Float32Array {
  return Float32Array.from(CATEGORY_LABELS, (c) => (categories === null ? Number.NaN : categories.includes(c) ? 1 : 0));
}

export function toTrainExample(ex: PreparedExample, featurizer: FeaturizerConfig): TrainExample {
  return {
    windows: featurize(ex.prompt, ex.response, featurizer),
    target: { label: ex.label, soft: ex.score, categories: categoryTargets(ex.categories) },
    source: ex.source,
    shape: ex.response !== null ? 'pair' : ex.kind === 'content' ? 'content' : 'request',
  };
}
