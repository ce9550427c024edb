/**
 * The kinds of flag value the pipeline's option schemas share (numbers within bounds, lists, model
 * versions, the quiet switch), as they come from the command line (strings) or from a `run` config
 * section (JSON values). How a schema becomes a command is in flag-command.ts.
 */
import { z } from 'zod';
import { VERSION_PATTERN } from '../src/guard/manifest.ts';

/** `valFraction` -> `val-fraction`: a schema key as its flag. */
export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A flag that must be a number within bounds (citty hands numbers over as strings). */
export const numberFlag = (min: number, max: number) => z.coerce.number().min(min).max(max);
/** A flag that must be a whole number within bounds. */
export const intFlag = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** `--quiet`: no progress on stderr (results still print). `run --quiet` passes it to every stage that has it. */
export const quietFlag = () => z.boolean().default(false).describe('no progress output');
/** What a model version or a key name may be (VERSION_PATTERN, KEY_NAME_PATTERN), for error messages. */
export const NAME_RULE = 'letters, digits, ".", "_" or "-", at most 64';
/** A model version, checked as the manifest checks it. */
export const versionFlag = () => z.string().regex(VERSION_PATTERN, NAME_RULE);
/** A list: comma-separated on the command line (`--data a.jsonl,b.jsonl`), an array in a run config; blanks dropped. */
export const listFlag = () =>
  z.union([
    z.array(z.string().min(1)),
    z.string().transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ]);
