/**
 * What a teacher says about one example, and the interface every teacher adapter implements.
 * The teacher's own threshold turns its score into a hard label; it is kept apart from the
 * student's threshold, which `eval` chooses later on validation data.
 */
import type { Example } from '../../data/schema.ts';
import type { HazardCode } from '../../../src/teacher/hazards.ts';

export interface Verdict {
  /** Teacher P(unsafe), the soft label; null when the teacher gives a verdict only and no score is wanted. */
  score: number | null;
  /** 1 unsafe, 0 safe, at the teacher's threshold (or the teacher's own verdict when it has no score). */
  label: 0 | 1;
  /** Hazard codes the teacher named (empty when safe). */
  codes: HazardCode[];
  /** The teacher's generated text, for the log. */
  raw: string;
}

export interface Teacher {
  name: string;
  judge(example: Pick<Example, 'prompt' | 'response'>): Promise<Verdict>;
}
