/**
 * `distill`: prepare the data, split it, train the student on hard and soft labels (HarmAug's
 * loss), choose the threshold on the validation split, and write a checkpoint into the run folder.
 */
import { defineCommand } from 'citty';
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, listFlag, parseArgs } from '../args.ts';
import { resolveDistillConfig } from '../train/config.ts';
import { runDistill } from '../train/distill.ts';

const Flags = z.object({
  config: z.string().optional(),
  out: z.string().optional(),
  data: listFlag().optional(),
  holdout: listFlag().optional(),
  epochs: intFlag(1, 100).optional(),
  seed: intFlag(0, 2 ** 31).optional(),
  quiet: z.boolean().default(false),
});

export default defineCommand({
  meta: { name: 'distill', description: 'Train the student on labelled and teacher-scored data; writes a checkpoint to the run folder.' },
  args: {
    config: { type: 'string', description: 'JSON recipe (or a run folder\'s config.json); defaults fill the rest' },
    out: { type: 'string', description: 'run folder (default runs/distill-<time>)' },
    data: { type: 'string', description: 'comma-separated data files/folders (overrides the recipe)' },
    holdout: { type: 'string', description: 'comma-separated sources to hold out (leave-one-dataset-out)' },
    epochs: { type: 'string', description: 'maximum epochs (overrides train.maxEpochs)' },
    seed: { type: 'string', description: 'random seed (overrides train.seed)' },
    quiet: { type: 'boolean', description: 'no progress output' },
  },
  async run({ args }) {
    const flags = parseArgs(Flags, args);
    const overrides: Record<string, unknown> = {};
    if (flags.data) overrides.data = flags.data;
    if (flags.holdout) overrides.holdout = flags.holdout;
    const train: Record<string, unknown> = {};
    if (flags.epochs !== undefined) train.maxEpochs = flags.epochs;
    if (flags.seed !== undefined) train.seed = flags.seed;
    if (Object.keys(train).length) overrides.train = train;
    const config = await resolveDistillConfig(flags.config, overrides);
    const out = flags.out ?? join('runs', `distill-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const outcome = await runDistill(config, out, flags.quiet);
    console.log(`checkpoint ${outcome.checkpointDir}: ${outcome.seconds.toFixed(0)}s, ${outcome.examplesPerSecond} examples/s, best epoch ${outcome.bestEpoch}, threshold ${outcome.threshold.toFixed(4)}`);
  },
});
