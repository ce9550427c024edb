/**
 * The category labels a student model may have, besides its first output (the overall
 * P(harmful)): six broad labels, then OpenAI's finer keys as labels of their own. A fine label
 * implies its broad one ("self-harm/intent" is also "self-harm"). Shared by the pipeline, which
 * trains these labels, and by the teacher's table of Llama Guard categories (teacher/hazards.ts).
 * The worker still never decides by this list: a model's labels are the ones its manifest names.
 */

/** The broad labels, in the order every list of our labels keeps. */
export const BROAD_LABELS = ['hate', 'harassment', 'violence', 'self-harm', 'sexual', 'illicit'] as const;

/** OpenAI's finer keys, each refining the broad label before its "/". */
export const FINE_LABELS = [
  'hate/threatening',
  'harassment/threatening',
  'violence/graphic',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual/minors',
  'illicit/violent',
] as const;

/** Every category label, broad ones first. */
export const CATEGORY_LABELS = [...BROAD_LABELS, ...FINE_LABELS] as const;

/** One of CATEGORY_LABELS. */
export type CategoryLabel = (typeof CATEGORY_LABELS)[number];

/**
 * A text flagged on P(harmful) names each reported category scoring at least this: which kind of
 * harm it is, as a moderation answer's `categories` say. Alone, a category flags a text only at
 * its own (stricter) threshold.
 */
export const CATEGORY_NAMED_AT = 0.5;
