/**
 * The stages `run` chains, in order, and how each is wired into the run folder. A stage is its
 * options schema (checked for every stage before the first one starts), the files it reads and
 * writes inside the run folder, and the function that runs it. This list is the extension point:
 * a new stage is one more entry (see `commandStage` for stages that are plain CLI commands).
 */
import { join } from 'node:path';
import { runCommand } from 'citty';
import { z } from 'zod';
import { AugmentOptionsSchema, runAugment } from '../harmaug/augment.ts';
import { LabelOptionsSchema, runLabel } from '../harmaug/label.ts';
import { RespondOptionsSchema, runRespond } from '../harmaug/respond.ts';

export interface Stage {
  name: string;
  /** Whether the config's shared `llm` section applies to this stage. */
  usesLlm: boolean;
  /** Whether the stage takes a `quiet` option (passed on from `run --quiet`). */
  acceptsQuiet: boolean;
  /** Validates a stage's merged options; throws a zod error naming the bad key. */
  schema: z.ZodType;
  /**
   * Options the run folder decides. `defaults` may be overridden by the stage's config section
   * (e.g. which files to read); `fixed` may not (where it writes).
   */
  wire(runDir: string): { defaults: Record<string, unknown>; fixed: Record<string, unknown> };
  run(options: any): Promise<unknown>;
}

/** Folder of stage `name` inside a run folder. */
export const stageDir = (runDir: string, name: string) => join(runDir, name);

/** A value a config may give for a CLI flag. */
const FlagValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]);

/** camelCase option keys as the command's kebab-case flags: { maxEpochs: 3, data: ['a', 'b'] } -> --max-epochs 3 --data a,b */
export function toArgv(options: Record<string, unknown>): string[] {
  const argv: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null || value === false) continue;
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (value === true) argv.push(flag);
    else argv.push(flag, Array.isArray(value) ? value.join(',') : String(value));
  }
  return argv;
}

/** Replaces `${run}` in a config value (or in the items of a list) with the run folder. */
export function expandRun(value: unknown, runDir: string): unknown {
  if (typeof value === 'string') return value.replaceAll('${run}', runDir);
  if (Array.isArray(value)) return value.map((v) => expandRun(v, runDir));
  return value;
}

/**
 * A stage that is a CLI command of its own (e.g. `distill`): its config section is a map of its
 * flags (camelCase; `${run}` stands for the run folder), passed on as argv, and the command checks
 * them itself when its turn comes.
 * @param options.quiet whether the command takes --quiet (set when `run --quiet`)
 * @example commandStage('distill', (dir) => ({ defaults: { data: [join(dir, 'label', 'labeled.jsonl')] }, fixed: { out: join(dir, 'distill') } }))
 */
export function commandStage(name: string, wire: Stage['wire'], options: { quiet: boolean }): Stage {
  return {
    name,
    usesLlm: false,
    acceptsQuiet: options.quiet,
    schema: z.record(z.string(), FlagValue),
    wire,
    async run(flags: Record<string, unknown>) {
      const { COMMANDS } = await import('../cli.ts');
      const command = await COMMANDS[name]!();
      await runCommand(command, { rawArgs: toArgv(flags) });
      return null;
    },
  };
}

/** The chain, in order. Stages without a section in the config are skipped unless listed in `stages`. */
export const STAGES: Stage[] = [
  {
    name: 'augment',
    usesLlm: true,
    acceptsQuiet: true,
    schema: AugmentOptionsSchema,
    wire: (dir) => ({ defaults: {}, fixed: { out: stageDir(dir, 'augment') } }),
    run: runAugment,
  },
  {
    name: 'respond',
    usesLlm: true,
    acceptsQuiet: true,
    schema: RespondOptionsSchema,
    wire: (dir) => ({ defaults: { in: [join(stageDir(dir, 'augment'), 'prompts.jsonl')] }, fixed: { out: stageDir(dir, 'respond') } }),
    run: runRespond,
  },
  {
    name: 'label',
    usesLlm: true,
    acceptsQuiet: true,
    schema: LabelOptionsSchema,
    wire: (dir) => ({
      defaults: { in: [join(stageDir(dir, 'augment'), 'prompts.jsonl'), join(stageDir(dir, 'respond'), 'responses.jsonl')] },
      fixed: { out: stageDir(dir, 'label') },
    }),
    run: runLabel,
  },
  // The student: trained on the teacher-labelled rows (add more with `"data": ["${run}/label/labeled.jsonl", "../shared/data"]`),
  // exported to <run>/model, evaluated into <run>/eval.
  commandStage('distill', (dir) => ({ defaults: { data: [join(stageDir(dir, 'label'), 'labeled.jsonl')] }, fixed: { out: stageDir(dir, 'distill') } }), { quiet: true }),
  commandStage('export', (dir) => ({ defaults: { checkpoint: join(stageDir(dir, 'distill'), 'checkpoint') }, fixed: { out: join(dir, 'model') } }), { quiet: false }),
  commandStage('eval', (dir) => ({ defaults: { model: join(dir, 'model') }, fixed: { out: stageDir(dir, 'eval') } }), { quiet: true }),
];
