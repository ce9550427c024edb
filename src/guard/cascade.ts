/**
 * The cascade: the student decides what it is sure about, the teacher judges the rest. A text
 * whose student P(harmful) falls in the band [lo, hi) (or every text, for a caller whose policy
 * says `escalate: always`) goes to the teacher; the teacher's verdict replaces the student's,
 * whatever the thresholds, and its S1-S14 codes become our labels (teacher/hazards.ts). A teacher
 * that does not answer within the timeout, fails, answers nonsense, or whose per-isolate budget
 * is spent leaves the student's verdict standing, and the result says why. All texts of a
 * request are asked at once, so a request waits at most the timeout. Pure of HTTP.
 */
import { isolateBudget } from '../teacher/budget.ts';
import { TeacherCallError, type TeacherFailure } from '../teacher/client.ts';
import { labelsOf, type HazardCode } from '../teacher/hazards.ts';
import type { CascadeConfig } from './cascade-config.ts';
import type { ClassifyInput, Verdict } from './classifier.ts';
import type { EscalateMode } from './policy.ts';

/** What the teacher said about one text, or why it said nothing. */
export type TeacherOutcome =
  | {
      unsafe: boolean;
      /** P(unsafe); absent for a teacher that answers a verdict only (Workers AI). */
      score?: number;
      /** Our labels for the hazards it named, all of them (the verdict's categories keep the model's). */
      categories: string[];
      /** Llama Guard's hazard codes (S1-S14). */
      codes: HazardCode[];
      latencyMs: number;
    }
  | {
      /** `budget_spent`: TEACHER_MAX_PER_MINUTE calls were started in the last minute, so it was not asked. */
      error: TeacherFailure | 'budget_spent';
      message: string;
      latencyMs: number;
    };

/** A verdict and who gave it; `teacher` when the teacher was asked (what it said, or why it did not). */
export type FinalVerdict = Verdict & { decidedBy: 'student' | 'teacher'; teacher?: TeacherOutcome };

/** One text the cascade sent to the teacher (or would have, but for the budget). */
export interface Escalation {
  /** The text's index among the request's inputs. */
  index: number;
  reason: 'band' | 'always';
  outcome: TeacherOutcome;
}

/** The cascade's answer for one request. */
export interface CascadeResult {
  verdicts: FinalVerdict[];
  escalations: Escalation[];
  /** Wall time of the step: the slowest teacher call, at most about the timeout. */
  ms: number;
}

/**
 * Why a text with this student score goes to the teacher, or null when the student decides.
 * @example escalationReason(0.9, [0.75, 0.97], 'band') // 'band'
 */
export function escalationReason(score: number, band: readonly [number, number], mode: EscalateMode): Escalation['reason'] | null {
  if (mode === 'always') return 'always';
  if (mode === 'band' && score >= band[0] && score < band[1]) return 'band';
  return null;
}

/** The student's verdict, said to be the student's. */
export const studentDecided = (verdict: Verdict): FinalVerdict => ({ ...verdict, decidedBy: 'student' });

/** The teacher's verdict on a text: its flag, and on each category the model reports, whether the teacher named it. */
function teacherDecided(student: Verdict, outcome: Extract<TeacherOutcome, { unsafe: boolean }>): FinalVerdict {
  const named = new Set(outcome.categories);
  const categories: Verdict['categories'] = {};
  for (const [label, { score }] of Object.entries(student.categories))
    categories[label] = { score, flagged: outcome.unsafe && named.has(label) };
  return { ...student, flagged: outcome.unsafe, categories, decidedBy: 'teacher', teacher: outcome };
}

/** Asks the teacher about one text, within the step's abort signal; a failure is an outcome. */
async function ask(config: CascadeConfig, input: ClassifyInput, signal: AbortSignal, timedOut: Promise<never>): Promise<TeacherOutcome> {
  const started = Date.now();
  try {
    const { unsafe, score, codes } = await Promise.race([config.teacher.judge(input, signal), timedOut]);
    return { unsafe, ...(score === null ? {} : { score }), categories: labelsOf(codes), codes, latencyMs: Date.now() - started };
  } catch (error) {
    if (!(error instanceof TeacherCallError)) throw error;
    const message = error.failure === 'timeout' ? `no answer within ${config.timeoutMs} ms (TEACHER_TIMEOUT_MS)` : error.message;
    return { error: error.failure, message, latencyMs: Date.now() - started };
  }
}

/**
 * Sends the texts the band (or the caller's `escalate` mode) selects to the teacher, all at once,
 * and applies its verdicts. Each call is taken from the isolate's budget first; the step stops
 * waiting after `config.timeoutMs`.
 * @param verdicts the student's verdicts on `inputs`, in order
 * @param mode the caller's policy (default `band`)
 * @throws only for a bug: every teacher failure is an outcome
 * @example const { verdicts } = await escalate(config, inputs, studentVerdicts, 'band');
 */
export async function escalate(
  config: CascadeConfig,
  inputs: ClassifyInput[],
  verdicts: Verdict[],
  mode: EscalateMode = 'band',
): Promise<CascadeResult> {
  const selected = verdicts.flatMap((verdict, index) => {
    const reason = escalationReason(verdict.score, config.band, mode);
    return reason ? [{ index, reason }] : [];
  });
  const final = verdicts.map(studentDecided);
  if (selected.length === 0) return { verdicts: final, escalations: [], ms: 0 };

  const budget = isolateBudget(config.teacher.name, config.maxPerMinute);
  const controller = new AbortController();
  const timedOut = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(new TeacherCallError('timeout', 'timed out')));
  });
  timedOut.catch(() => {}); // settles only the races that are still waiting
  const timer = setTimeout(() => controller.abort(), config.timeoutMs);
  const started = Date.now();
  let escalations: Escalation[];
  try {
    escalations = await Promise.all(
      selected.map(async ({ index, reason }): Promise<Escalation> => {
        if (!budget.take()) {
          const message = `the isolate started TEACHER_MAX_PER_MINUTE (${config.maxPerMinute}) teacher calls in the last minute`;
          return { index, reason, outcome: { error: 'budget_spent', message, latencyMs: 0 } };
        }
        return { index, reason, outcome: await ask(config, inputs[index]!, controller.signal, timedOut) };
      }),
    );
  } finally {
    clearTimeout(timer);
  }
  for (const { index, outcome } of escalations) {
    final[index] = 'error' in outcome ? { ...final[index]!, teacher: outcome } : teacherDecided(verdicts[index]!, outcome);
  }
  return { verdicts: final, escalations, ms: Date.now() - started };
}

/**
 * All inputs decided as one after the teacher decided some of them: flagged when any input is,
 * each label's highest score and any flag, and the deciding input: the highest P(harmful) among
 * those whose verdict is the overall one (a text the teacher cleared does not block).
 * @param threshold the policy's threshold on P(harmful)
 */
export function overallAfterTeacher(verdicts: FinalVerdict[], threshold: number): { verdict: FinalVerdict; decisive: number } {
  const flagged = verdicts.some((v) => v.flagged);
  const categories: Verdict['categories'] = {};
  for (const verdict of verdicts) {
    for (const [label, { score, flagged: labelFlagged }] of Object.entries(verdict.categories)) {
      const seen = categories[label];
      categories[label] = { score: Math.max(seen?.score ?? 0, score), flagged: (seen?.flagged ?? false) || labelFlagged };
    }
  }
  let decisive = -1;
  verdicts.forEach((v, i) => {
    if (v.flagged === flagged && (decisive < 0 || v.score > verdicts[decisive]!.score)) decisive = i;
  });
  const { decidedBy, teacher } = verdicts[decisive]!;
  const score = verdicts.reduce((best, v) => Math.max(best, v.score), 0);
  return { verdict: { score, flagged, threshold, categories, decidedBy, ...(teacher ? { teacher } : {}) }, decisive };
}
