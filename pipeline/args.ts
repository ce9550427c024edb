/**
 * Flag validation shared by the commands: citty parses strings, zod turns them into typed,
 * checked values, and a failure becomes one CLIError naming the flag.
 */
import { z } from 'zod';
import { CLIError } from './errors.ts';

/** Parses `raw` with `schema`, or throws a one-line CLIError naming the first bad flag. */
export function parseArgs<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const flag = issue.path.length ? `--${issue.path.join('.')}` : 'arguments';
  throw new CLIError(`${flag}: ${issue.message}`);
}

/** A flag that must be a number within bounds (citty hands numbers over as strings). */
export const numberFlag = (min: number, max: number) => z.coerce.number().min(min).max(max);
/** A flag that must be a whole number within bounds. */
export const intFlag = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A comma-separated list flag (`--data a.jsonl,b.jsonl`), blanks dropped. */
export const listFlag = () => z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
