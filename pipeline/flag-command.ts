/**
 * A command's flags, declared once: a zod object whose keys are the flags in camelCase
 * (`valFraction` is `--val-fraction`), each field holding its check, its real default
 * (`.default()`) and its help line (`.describe()`). citty's `args`, and so the help text and the
 * CLI reference, are generated from it; a flag it does not name is refused, and an error names
 * the flag as the user types it. A `run` config section is checked by the same schema.
 */
import { defineCommand, type ArgDef, type ArgsDef, type CommandDef } from 'citty';
import { z } from 'zod';
import { kebab } from './args.ts';
import { CLIError } from './errors.ts';

/** A field and the schemas it wraps (default, optional, pipe input), outermost first. */
function layers(field: z.ZodType): z.ZodType[] {
  const inner =
    field instanceof z.ZodDefault || field instanceof z.ZodOptional ? field.unwrap() : field instanceof z.ZodPipe ? field.in : null;
  return inner ? [field, ...layers(inner as z.ZodType)] : [field];
}

/** How a default reads in help: lists comma-separated, as typed. */
const shown = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));

/** The citty definition of one flag: its type, whether it is required, its help with the real default. */
function argOf(key: string, field: z.ZodType, positional: boolean): ArgDef {
  const all = layers(field);
  const description = all.find((f) => f.description)?.description;
  if (!description) throw new Error(`flag ${key} has no description: add .describe() to its schema`);
  const required = !field.safeParse(undefined).success;
  if (positional) return { type: 'positional', required, description };
  const fallback = field instanceof z.ZodDefault ? (field.def.defaultValue as unknown) : undefined;
  const boolean = all.some((f) => f instanceof z.ZodBoolean);
  // an unset switch and an empty list need no default in help
  const silent = fallback === undefined || fallback === false || (Array.isArray(fallback) && fallback.length === 0);
  const help = silent ? description : `${description} (default ${shown(fallback)})`;
  return { type: boolean ? 'boolean' : 'string', description: help, ...(required ? { required } : {}) };
}

/**
 * citty's `args` for a flag schema: kebab-case flags, positionals under their key, in schema order.
 * @throws Error when a flag has no description (a bug: help would show an empty line)
 */
export function argsOf(schema: z.ZodObject, positional: readonly string[] = []): ArgsDef {
  const fields = Object.entries(schema.shape as Record<string, z.ZodType>);
  return Object.fromEntries(
    fields.map(([key, field]) => [positional.includes(key) ? key : kebab(key), argOf(key, field, positional.includes(key))]),
  );
}

/** A schema issue as one line: the flag as typed (`--val-fraction`), or `<name>` for a positional. */
function issueLine(issue: z.core.$ZodIssue, positional: readonly string[]): string {
  const key = issue.path[0];
  const where = typeof key !== 'string' ? 'arguments' : positional.includes(key) ? `<${key}>` : `--${kebab(key)}`;
  return `${where}: ${issue.message}`;
}

/**
 * Checks what citty parsed against the schema: refuses a flag the schema does not name and a
 * stray argument, then validates.
 * @throws CLIError with one line naming the flag as typed
 * @example parseFlags(z.object({ valFraction: numberFlag(0, 1).default(0.1).describe('share') }), { _: [], 'val-fraction': '0.2' }) // { valFraction: 0.2 }
 */
export function parseFlags<S extends z.ZodObject>(
  schema: S,
  parsed: Record<string, unknown>,
  positional: readonly string[] = [],
): z.output<S> {
  const keys = Object.keys(schema.shape);
  // citty keeps each flag under its kebab-case and its camelCase name; anything else was not declared.
  const known = new Set(['_', ...keys, ...keys.map(kebab)]);
  const unknown = Object.keys(parsed).find((name) => !known.has(name));
  if (unknown) {
    const flags = keys.filter((k) => !positional.includes(k)).map((k) => `--${kebab(k)}`);
    throw new CLIError(`unknown flag --${unknown} (flags: ${flags.join(', ')})`);
  }
  const stray = ((parsed._ ?? []) as string[]).slice(positional.length);
  if (stray.length) throw new CLIError(`unexpected argument '${stray[0]}'${positional.length ? '' : ' (this command takes flags only)'}`);
  const result = schema.safeParse(Object.fromEntries(keys.map((k) => [k, parsed[k]])));
  if (!result.success) throw new CLIError(issueLine(result.error.issues[0]!, positional));
  return result.data;
}

/** A command as the pipeline writes one: its help, its flags (one schema) and what it does with them. */
export interface FlagCommand<S extends z.ZodObject> {
  meta: { name: string; description: string };
  flags: S;
  /** Schema keys given by position, in order (`deploy <model>`); the rest are `--flags`. */
  positional?: readonly (keyof S['shape'] & string)[];
  run(flags: z.output<S>): Promise<unknown>;
}

/**
 * A citty command from a flag schema: `args` and help generated from it, flags checked by it.
 * @example
 * export default defineFlagCommand({
 *   meta: { name: 'rollback', description: 'Make the previously current version current again.' },
 *   flags: TargetFlags,
 *   run: async (flags) => { ... },
 * });
 */
export function defineFlagCommand<S extends z.ZodObject>(command: FlagCommand<S>): CommandDef<ArgsDef> {
  const positional = command.positional ?? [];
  return defineCommand({
    meta: command.meta,
    args: argsOf(command.flags, positional),
    async run({ args }) {
      await command.run(parseFlags(command.flags, args as Record<string, unknown>, positional));
    },
  });
}
