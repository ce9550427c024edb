/**
 * `distill`: prepare the data, split it, train the student on hard and soft labels, choose the
 * threshold on the validation split, and write a checkpoint into the run folder.
 */
import { defineCommand } from 'citty';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, parseArgs } from '../args.ts';
import { LABELS, OPENAI_MAPPING } from '../data/categories.ts';
import { prepare } from '../data/prepare.ts';
import { split } from '../data/split.ts';
import { chooseThreshold, type ThresholdRule } from '../eval/threshold.ts';
import { createProgress } from '../progress.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';
import { resolveDistillConfig } from '../train/config.ts';
import { toTrainExample } from '../train/examples.ts';
import { scoreExample, train } from '../train/trainer.ts';

const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Flags = z.object({
  config: z.string().optional(),
  out: z.string().optional(),
  data: list.optional(),
  holdout: list.optional(),
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
    const trainOverrides: Record<string, unknown> = {};
    if (flags.epochs !== undefined) trainOverrides.maxEpochs = flags.epochs;
    if (flags.seed !== undefined) trainOverrides.seed = flags.seed;
    if (Object.keys(trainOverrides).length) overrides.train = trainOverrides;
    const config = await resolveDistillConfig(flags.config, overrides);
    const out = flags.out ?? join('runs', `distill-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'config.json'), `${JSON.stringify({ distill: config }, null, 2)}\n`);
    const say = (line: string) => {
      if (!flags.quiet) process.stderr.write(`${line}\n`);
    };
    say(`distill -> ${out}\n${JSON.stringify(config)}`);

    const { examples, report } = await prepare({
      inputs: config.data,
      nearDuplicate: config.nearDuplicate,
      refusalPairs: config.refusalPairs,
      seed: config.train.seed,
      first: config.holdout,
    });
    const splits = split(examples, { valFraction: config.valFraction, holdout: config.holdout, seed: config.train.seed });
    await writeFile(join(out, 'data-report.json'), `${JSON.stringify({ ...report, splits: { train: splits.train.length, val: splits.val.length, test: splits.test.length } }, null, 2)}\n`);
    say(`data: ${report.read} read, ${report.kept} kept (${report.exactDuplicates} exact and ${report.nearDuplicates} near duplicates, ${report.droppedByPolicy} dropped by policy, ${report.refusalPairs} refusal pairs); train ${splits.train.length}, val ${splits.val.length}, test ${splits.test.length}`);

    const featurizeStart = performance.now();
    const trainSet = splits.train.map((ex) => toTrainExample(ex, config.featurizer));
    const valSet = splits.val.map((ex) => toTrainExample(ex, config.featurizer));
    say(`featurized in ${((performance.now() - featurizeStart) / 1000).toFixed(1)}s`);

    const t = config.train;
    let progress = createProgress('train epoch 1', t.samplesPerEpoch || trainSet.length, { quiet: flags.quiet });
    const result = train(trainSet, valSet, { buckets: config.featurizer.buckets, outputs: LABELS.length }, t, {
      onBatch: (seen) => progress.update(seen),
      onEpoch: (stats) => {
        progress.finish(`loss ${stats.trainLoss.toFixed(4)}, val loss ${stats.valLoss.toFixed(4)}, val AUPRC ${stats.valAuprc?.toFixed(4)}`);
        progress = createProgress(`train epoch ${stats.epoch + 1}`, t.samplesPerEpoch || trainSet.length, { quiet: flags.quiet });
        void appendFile(join(out, 'train.log.jsonl'), `${JSON.stringify(stats)}\n`);
      },
    });

    const valScores = valSet.map((ex) => scoreExample(result.weights, ex.windows).scores[0]!);
    const valLabels = valSet.map((ex) => ex.target.label ?? (ex.target.soft! >= 0.5 ? 1 : 0));
    const threshold = chooseThreshold(config.threshold as ThresholdRule, valScores, valLabels);
    const sources = Object.entries(report.perSource).map(([name, s]) => ({
      name,
      license: s.license,
      rows: s.rows,
      use: s.use === 'eval-only' || config.holdout.includes(name) ? ('eval-only' as const) : ('train' as const),
    }));
    await saveCheckpoint(join(out, 'checkpoint'), {
      format: 'edgeguard-checkpoint-1',
      shape: { buckets: result.weights.buckets, dim: result.weights.dim, hidden: result.weights.hidden, outputs: result.weights.outputs },
      featurizer: config.featurizer,
      labels: [...LABELS],
      openaiCategories: OPENAI_MAPPING,
      threshold,
      thresholdRule: config.threshold,
      config: { distill: config },
      dataSources: sources,
      training: {
        examples: { train: trainSet.length, val: valSet.length, refusalPairs: report.refusalPairs },
        bestEpoch: result.bestEpoch,
        epochs: result.history,
        seconds: Math.round(result.seconds),
        examplesPerSecond: Math.round(result.examplesSeen / result.seconds),
      },
    }, result.weights);
    say(`trained in ${result.seconds.toFixed(0)}s (${Math.round(result.examplesSeen / result.seconds)} examples/s), best epoch ${result.bestEpoch}, threshold ${threshold.toFixed(4)} (${config.threshold}); checkpoint in ${join(out, 'checkpoint')}`);
  },
});
