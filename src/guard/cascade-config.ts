/**
 * The cascade's configuration, read from the worker's env (wrangler.toml `[vars]`, secrets, the
 * `AI` binding) and checked at the edge: which teacher (an OpenAI-compatible Llama Guard server
 * at TEACHER_URL, else Workers AI through the `AI` binding when TEACHER_MODEL is set), the band
 * of student scores it judges, how long it may take, how often an isolate may ask it, and what
 * of its verdicts is kept for training. No teacher configured: no cascade, the student decides
 * everything as before.
 */
import { z } from 'zod';
import { createOpenAiTeacher, createWorkersAiTeacher, type AiBinding, type TeacherClient } from '../teacher/client.ts';
import { WorkerConfigError } from './config-error.ts';

/** The band escalated when ESCALATE_BAND is unset: see src/README.md ("The cascade") for how it was chosen. */
export const DEFAULT_ESCALATE_BAND = '0.7,0.97';
/** Milliseconds the cascade waits for the teacher when TEACHER_TIMEOUT_MS is unset. */
export const DEFAULT_TEACHER_TIMEOUT_MS = 1500;
/** Teacher calls an isolate may start per minute when TEACHER_MAX_PER_MINUTE is unset. */
export const DEFAULT_TEACHER_MAX_PER_MINUTE = 600;

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const text = z.preprocess(blankToUndefined, z.string().trim().optional());

/** `lo,hi`: student scores in [lo, hi) go to the teacher; lo = hi is an empty band (only `escalate: always` keys ask). */
const Band = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default(DEFAULT_ESCALATE_BAND)
    .transform((value, ctx) => {
      const parts = value.split(',').map((part) => part.trim());
      const [lo, hi] = parts.map(Number);
      if (parts.length !== 2 || parts.some((part) => part === '') || !(lo! >= 0 && hi! <= 1 && lo! <= hi!)) {
        ctx.addIssue({ code: 'custom', message: `'${value}' is not "lo,hi" with 0 <= lo <= hi <= 1` });
        return z.NEVER;
      }
      return [lo!, hi!] as const;
    }),
);

const Flag = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('true')
    .transform((value, ctx) => {
      const lower = value.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        ctx.addIssue({ code: 'custom', message: `'${value}' is not "true" or "false"` });
        return z.NEVER;
      }
      return lower === 'true';
    }),
);

const AiBindingSchema = z.custom<AiBinding>(
  (value) => typeof (value as AiBinding | null)?.run === 'function',
  'is not a Workers AI binding',
);

const CascadeVarsSchema = z.object({
  TEACHER_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, error: 'is not an http(s) URL' }).optional()),
  TEACHER_MODEL: text,
  TEACHER_API_KEY: text,
  AI: AiBindingSchema.optional(),
  ESCALATE_BAND: Band,
  TEACHER_TIMEOUT_MS: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(60_000).default(DEFAULT_TEACHER_TIMEOUT_MS)),
  TEACHER_MAX_PER_MINUTE: z.preprocess(
    blankToUndefined,
    z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_TEACHER_MAX_PER_MINUTE),
  ),
  FEEDBACK_SAMPLE_RATE: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(0)),
  FEEDBACK_STORE_TEXT: Flag,
});

/** The cascade's vars (and the `AI` binding) as the env holds them: strings, blank or missing meaning the default. */
export type CascadeVars = Partial<Record<keyof z.input<typeof CascadeVarsSchema>, unknown>>;

/** A configured cascade. */
export interface CascadeConfig {
  teacher: TeacherClient;
  /** Student P(harmful) in [lo, hi) is escalated. */
  band: readonly [number, number];
  timeoutMs: number;
  /** Teacher calls an isolate may start in any 60 s. */
  maxPerMinute: number;
  feedback: {
    /** Share of escalating requests whose teacher verdicts go to R2 (0: none). */
    sampleRate: number;
    /** false: hashes and scores only, never the texts. */
    storeText: boolean;
  };
}

/**
 * The cascade the env configures, or null when it configures no teacher.
 * @throws WorkerConfigError for a var that is set but unusable (a band that is not "lo,hi", a
 *   TEACHER_URL without TEACHER_MODEL, a rate out of range), naming it
 * @example cascadeConfig({ TEACHER_URL: 'http://127.0.0.1:8001/v1', TEACHER_MODEL: 'llama-guard-3' })?.band // [0.7, 0.97]
 */
export function cascadeConfig(vars: CascadeVars | undefined): CascadeConfig | null {
  const parsed = CascadeVarsSchema.safeParse(vars ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkerConfigError(`worker misconfigured: ${issue.path.join('.')}: ${issue.message}`);
  }
  const env = parsed.data;
  let teacher: TeacherClient;
  if (env.TEACHER_URL) {
    if (!env.TEACHER_MODEL)
      throw new WorkerConfigError(
        'worker misconfigured: TEACHER_MODEL: required with TEACHER_URL (the model name the server knows, e.g. meta-llama/Llama-Guard-3-8B)',
      );
    teacher = createOpenAiTeacher({ url: env.TEACHER_URL, model: env.TEACHER_MODEL, apiKey: env.TEACHER_API_KEY });
  } else if (env.AI && env.TEACHER_MODEL) {
    teacher = createWorkersAiTeacher({ binding: env.AI, model: env.TEACHER_MODEL });
  } else {
    return null;
  }
  return {
    teacher,
    band: env.ESCALATE_BAND,
    timeoutMs: env.TEACHER_TIMEOUT_MS,
    maxPerMinute: env.TEACHER_MAX_PER_MINUTE,
    feedback: { sampleRate: env.FEEDBACK_SAMPLE_RATE, storeText: env.FEEDBACK_STORE_TEXT },
  };
}
