/**
 * The stages `run` chains, in order, and how each is wired into the run folder. A stage is the
 * typed function its command runs, with that command's options schema (every stage's options are
 * checked before the first one starts), and the files it reads and writes inside the run folder.
 * This list is the extension point: a new stage is one more entry.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { EvalOptionsSchema, runEvalStage } from '../eval/eval-stage.ts';
import { AugmentOptionsSchema, runAugment } from '../harmaug/augment.ts';
import { LabelOptionsSchema, runLabel } from '../harmaug/label.ts';
import { RespondOptionsSchema, runRespond } from '../harmaug/respond.ts';
import { ExportOptionsSchema, runExportStage } from '../onnx/export-stage.ts';
import { DistillOptionsSchema, runDistillStage } from '../train/distill-stage.ts';

export interface Stage<S extends z.ZodObject = z.ZodObject> {
  name: string;
  /** Whether the config's shared `llm` section applies to this stage. */
  usesLlm: boolean;
  /** The stage's options: its command's flags, in camelCase. `run --quiet` reaches the stages that have `quiet`. */
  schema: S;
  /**
   * Options the run folder decides. `defaults` may be overridden by the stage's config section
   * (e.g. which files to read); `fixed` may not (where it writes).
   */
  wire(runDir: string): { defaults: Record<string, unknown>; fixed: Record<string, unknown> };
  /** The stage itself, given options its schema has checked; resolves to its summary. */
  run(options: z.output<S>): Promise<unknown>;
}

/** A stage whose function is typed by its schema: `run` accepts exactly what `schema` outputs. */
const stage = <S extends z.ZodObject>(definition: Stage<S>): Stage<S> => definition;

/** Folder of stage `name` inside a run folder. */
export const stageDir = (runDir: string, name: string) => join(runDir, name);

/** Replaces `${run}` in a config value (or in the items of a list) with the run folder. */
export function expandRun(value: unknown, runDir: string): unknown {
  if (typeof value === 'string') return value.replaceAll('${run}', runDir);
  if (Array.isArray(value)) return value.map((v) => expandRun(v, runDir));
  return value;
}

/** The chain, in order. Stages without a section in the config are skipped unless listed in `stages`. */
export const STAGES: Stage[] = [
  stage({
    name: 'augment',
    usesLlm: true,
    schema: AugmentOptionsSchema,
    wire: (dir) => ({ defaults: {}, fixed: { out: stageDir(dir, 'augment') } }),
    run: runAugment,
  }),
  stage({
    name: 'respond',
    usesLlm: true,
    schema: RespondOptionsSchema,
    wire: (dir) => ({ defaults: { in: [join(stageDir(dir, 'augment'), 'prompts.jsonl')] }, fixed: { out: stageDir(dir, 'respond') } }),
    run: runRespond,
  }),
  stage({
    name: 'label',
    usesLlm: true,
    schema: LabelOptionsSchema,
    wire: (dir) => ({
      defaults: { in: [join(stageDir(dir, 'augment'), 'prompts.jsonl'), join(stageDir(dir, 'respond'), 'responses.jsonl')] },
      fixed: { out: stageDir(dir, 'label') },
    }),
    run: runLabel,
  }),
  // The student: trained on the teacher-labelled rows (add more with `"data": ["${run}/label/labeled.jsonl", "../shared/data"]`),
  // exported to <run>/model, evaluated into <run>/eval.
  stage({
    name: 'distill',
    usesLlm: false,
    schema: DistillOptionsSchema,
    wire: (dir) => ({ defaults: { data: [join(stageDir(dir, 'label'), 'labeled.jsonl')] }, fixed: { out: stageDir(dir, 'distill') } }),
    run: runDistillStage,
  }),
  stage({
    name: 'export',
    usesLlm: false,
    schema: ExportOptionsSchema,
    wire: (dir) => ({ defaults: { checkpoint: join(stageDir(dir, 'distill'), 'checkpoint') }, fixed: { out: join(dir, 'model') } }),
    run: runExportStage,
  }),
  stage({
    name: 'eval',
    usesLlm: false,
    schema: EvalOptionsSchema,
    wire: (dir) => ({ defaults: { model: join(dir, 'model') }, fixed: { out: stageDir(dir, 'eval') } }),
    run: runEvalStage,
  }),
];
