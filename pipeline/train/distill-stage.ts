/**
 * The `distill` stage as the `distill` command and `run` call it: its options (flags, or a `run`
 * config section) become a recipe (defaults <- `--config` file <- these options), then one
 * distillation run writes a checkpoint.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, listFlag, quietFlag } from '../args.ts';
import { resolveDistillConfig } from './config.ts';
import { runDistill } from './distill.ts';

/** Options of `distill`, from flags or a run config section. */
export const DistillOptionsSchema = z.object({
  config: z.string().optional().describe("JSON recipe (or a run folder's config.json); defaults fill the rest"),
  out: z.string().optional().describe('run folder (default runs/distill-<time>)'),
  data: listFlag().optional().describe('comma-separated data files/folders (overrides the recipe)'),
  holdout: listFlag().optional().describe('comma-separated sources to hold out (leave-one-dataset-out)'),
  epochs: intFlag(1, 100).optional().describe('maximum epochs (overrides train.maxEpochs)'),
  seed: intFlag(0, 2 ** 31)
    .optional()
    .describe('random seed (overrides train.seed)'),
  quiet: quietFlag(),
});
export type DistillOptions = z.infer<typeof DistillOptionsSchema>;

/** What `distill` reports (and `run` keeps in report.json). */
export interface DistillSummary {
  checkpoint: string;
  threshold: number;
  seconds: number;
  examplesPerSecond: number;
  bestEpoch: number;
}

/**
 * Resolves the recipe and trains; prints one line naming the checkpoint.
 * @throws CLIError when the recipe file cannot be read or a setting is out of range
 * @example await runDistillStage({ config: 'pipeline/recipes/default.json', out: 'runs/r1', quiet: false })
 */
export async function runDistillStage(options: DistillOptions): Promise<DistillSummary> {
  const overrides: Record<string, unknown> = {};
  if (options.data) overrides.data = options.data;
  if (options.holdout) overrides.holdout = options.holdout;
  const train: Record<string, unknown> = {};
  if (options.epochs !== undefined) train.maxEpochs = options.epochs;
  if (options.seed !== undefined) train.seed = options.seed;
  if (Object.keys(train).length) overrides.train = train;
  const config = await resolveDistillConfig(options.config, overrides);
  const out = options.out ?? join('runs', `distill-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const outcome = await runDistill(config, out, options.quiet);
  console.log(
    `checkpoint ${outcome.checkpointDir}: ${outcome.seconds.toFixed(0)}s, ${outcome.examplesPerSecond} examples/s, best epoch ${outcome.bestEpoch}, threshold ${outcome.threshold.toFixed(4)}`,
  );
  return {
    checkpoint: outcome.checkpointDir,
    threshold: outcome.threshold,
    seconds: Math.round(outcome.seconds),
    examplesPerSecond: outcome.examplesPerSecond,
    bestEpoch: outcome.bestEpoch,
  };
}
