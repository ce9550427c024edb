/**
 * Our category labels and how each maps to OpenAI's moderation keys. The model's first output is
 * the overall P(harmful); the others are these categories, learned where the data says which
 * applies. The mapping travels in the manifest, so the worker never hard-codes it.
 *
 * Six broad labels, then OpenAI's finer keys as labels of their own. A fine label implies its
 * broad one ("self-harm/intent" is also "self-harm"); it is learned only from sources that mark
 * fine labels (see `fine` in sources.ts), and is 0 wherever its broad label is 0.
 */
import { CATEGORY_LABELS, type CategoryLabel } from '../../src/guard/labels.ts';
import type { OpenAICategory } from '../../src/guard/manifest.ts';

export { BROAD_LABELS, CATEGORY_LABELS, FINE_LABELS, type CategoryLabel } from '../../src/guard/labels.ts';

/** Model outputs, in order. */
export const LABELS = ['harmful', ...CATEGORY_LABELS] as const;

/** The broad label a fine one refines ('self-harm/intent' -> 'self-harm'); a broad label is its own. */
export const broadOf = (label: CategoryLabel): CategoryLabel => label.split('/')[0] as CategoryLabel;

/**
 * OpenAI keys each label stands for; a label is its own key. Which of them a model reports is the
 * recipe's choice (`reportedCategories`): keys without a trustworthy held-out figure stay out.
 */
export const OPENAI_MAPPING: Record<string, OpenAICategory[]> = Object.fromEntries([
  ['harmful', []],
  ...CATEGORY_LABELS.map((label) => [label, [label]]),
]);
