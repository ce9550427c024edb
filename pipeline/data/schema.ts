/**
 * The row formats the pipeline stages hand each other through files.
 * `Example` is the schema of `../shared/data` (id, prompt, response, label, category, source),
 * extended with the teacher's soft label `score` and our category labels.
 */
import { z } from 'zod';

export const ExampleSchema = z.object({
  id: z.string().min(1),
  prompt: z.string().min(1),
  /** The model answer being judged; null for a prompt-only example. */
  response: z.string().min(1).nullable().default(null),
  /** Hard label: 1 harmful, 0 benign; null when only a teacher score exists. */
  label: z
    .union([z.literal(0), z.literal(1)])
    .nullable()
    .default(null),
  /** Teacher P(unsafe), the soft label HarmAug distils. */
  score: z.number().min(0).max(1).nullable().default(null),
  /** Upstream category text, free form. */
  category: z.string().nullable().default(null),
  /** Our category labels that apply (see pipeline/data/categories.ts), when known. */
  categories: z.array(z.string()).nullable().default(null),
  /** Data set the row came from; leave-one-dataset-out splits use it. */
  source: z.string().min(1),
});

export type Example = z.infer<typeof ExampleSchema>;

/**
 * A row's hard label: its own when it has one, else its teacher score taken at 0.5 (a row with
 * neither counts as benign). Training, threshold choice, evaluation and the synthetic pairs all
 * read a soft-labelled row this one way.
 * @example hardLabel(null, 0.7) // 1
 * @example hardLabel(0, 0.9) // 0
 */
export function hardLabel(label: 0 | 1 | null, score: number | null): 0 | 1 {
  return label ?? ((score ?? 0) >= 0.5 ? 1 : 0);
}
