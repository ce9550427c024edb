/**
 * One distillation run, top to bottom: save the resolved config, prepare and split the data,
 * featurize, train, choose the threshold on the validation split, save the checkpoint. Used by the
 * `distill` command and by `lodo` (one run per fold).
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATEGORY_LABELS, LABELS, OPENAI_MAPPING } from '../data/categories.ts';
import { prepare, type PreparedExample } from '../data/prepare.ts';
import { hardLabel } from '../data/schema.ts';
import { split } from '../data/split.ts';
import { chooseThreshold, type ThresholdRule } from '../eval/threshold.ts';
import { createProgress } from '../progress.ts';
import { saveCheckpoint } from './checkpoint.ts';
import type { DistillConfig } from './config.ts';
import { toTrainExample } from './examples.ts';
import { scoreExample, train } from './trainer.ts';

export interface DistillOutcome {
  checkpointDir: string;
  threshold: number;
  seconds: number;
  examplesPerSecond: number;
  bestEpoch: number;
  /** Held-out and eval-only rows, for evaluation by the caller. */
  test: PreparedExample[];
}

/**
 * Runs a distillation into `out` (config.json, data-report.json, train.log.jsonl, checkpoint/).
 * @param quiet no progress on stderr
 */
export async function runDistill(config: DistillConfig, out: string, quiet = false): Promise<DistillOutcome> {
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'config.json'), `${JSON.stringify({ distill: config }, null, 2)}\n`);
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  say(`distill -> ${out}\n${JSON.stringify(config)}`);

  const { examples, report } = await prepare({
    inputs: config.data,
    nearDuplicate: config.nearDuplicate,
    refusalPairs: config.refusalPairs,
    benignSnippets: config.benignSnippets,
    seed: config.train.seed,
    holdout: config.holdout,
    evalOnly: config.evalOnly,
    softLabels: config.softLabels,
    softScores: config.softScores,
    compliancePairs: config.compliancePairs,
    rephrasings: config.rephrasings,
    wrappedRequests: config.wrappedRequests,
  });
  const splits = split(examples, { valFraction: config.valFraction, holdout: config.holdout, seed: config.train.seed });
  const counts = { train: splits.train.length, val: splits.val.length, test: splits.test.length };
  await writeFile(join(out, 'data-report.json'), `${JSON.stringify({ ...report, splits: counts }, null, 2)}\n`);
  say(
    `data: ${report.read} read, ${report.kept} kept (${report.exactDuplicates} exact and ${report.nearDuplicates} near duplicates, ${report.droppedByPolicy} dropped by policy, ${report.refusalPairs} refusal and ${report.compliancePairs} compliance pairs, ${report.benignSnippets} benign snippets, ${report.rephrasings} rephrasings, ${report.wrappedRequests} wrapped requests); train ${counts.train}, val ${counts.val}, test ${counts.test}`,
  );

  const featurizing = createProgress('featurize', counts.train + counts.val, { quiet });
  const toExample = (ex: PreparedExample, i: number, offset: number) => {
    if (i % 1000 === 0) featurizing.update(offset + i);
    return toTrainExample(ex, config.featurizer);
  };
  const trainSet = splits.train.map((ex, i) => toExample(ex, i, 0));
  const valSet = splits.val.map((ex, i) => toExample(ex, i, counts.train));
  featurizing.finish();

  const t = config.train;
  const perEpoch = t.samplesPerEpoch || trainSet.length;
  let progress = createProgress('train epoch 1', perEpoch, { quiet });
  const result = train(trainSet, valSet, { buckets: config.featurizer.buckets, outputs: LABELS.length }, t, {
    onBatch: (seen) => progress.update(seen),
    onEpoch: (stats) => {
      progress.finish(`loss ${stats.trainLoss.toFixed(4)}, val loss ${stats.valLoss.toFixed(4)}, val AUPRC ${stats.valAuprc?.toFixed(4)}`);
      progress = createProgress(`train epoch ${stats.epoch + 1}`, perEpoch, { quiet });
      void appendFile(join(out, 'train.log.jsonl'), `${JSON.stringify(stats)}\n`);
    },
  });

  const thresholdSet = config.thresholdOn === 'requests' ? valSet.filter((ex) => ex.shape === 'request') : valSet;
  const valScores = thresholdSet.map((ex) => scoreExample(result.weights, ex.windows).scores[0]!);
  const valLabels = thresholdSet.map((ex) => hardLabel(ex.target.label, ex.target.soft));
  const threshold = chooseThreshold(config.threshold as ThresholdRule, valScores, valLabels);
  const examplesPerSecond = Math.round(result.examplesSeen / result.seconds);
  const checkpointDir = join(out, 'checkpoint');
  await saveCheckpoint(
    checkpointDir,
    {
      format: 'edgeguard-checkpoint-1',
      shape: {
        buckets: result.weights.buckets,
        dim: result.weights.dim,
        hidden: result.weights.hidden,
        outputs: result.weights.outputs,
        pooling: result.weights.pooling,
      },
      featurizer: config.featurizer,
      labels: [...LABELS],
      openaiCategories: Object.fromEntries(
        Object.entries(OPENAI_MAPPING).filter(([label]) => label === 'harmful' || (config.reportedCategories as string[]).includes(label)),
      ),
      threshold,
      thresholdRule: `${config.threshold} on validation ${config.thresholdOn}`,
      categoryThresholds: Object.fromEntries(
        CATEGORY_LABELS.map((label) => [label, config.categoryThresholds[label] ?? config.categoryThreshold]),
      ),
      config: { distill: config },
      dataSources: Object.entries(report.perSource).map(([name, s]) => ({
        name,
        license: s.license,
        rows: s.rows,
        use: s.use === 'eval-only' || config.holdout.includes(name) ? ('eval-only' as const) : ('train' as const),
      })),
      training: {
        examples: {
          train: trainSet.length,
          val: valSet.length,
          refusalPairs: report.refusalPairs,
          compliancePairs: report.compliancePairs,
          benignSnippets: report.benignSnippets,
          rephrasings: report.rephrasings,
        },
        bestEpoch: result.bestEpoch,
        epochs: result.history,
        seconds: Math.round(result.seconds),
        examplesPerSecond,
      },
    },
    result.weights,
  );
  say(
    `trained in ${result.seconds.toFixed(0)}s (${examplesPerSecond} examples/s), best epoch ${result.bestEpoch}, threshold ${threshold.toFixed(4)} (${config.threshold}); checkpoint in ${checkpointDir}`,
  );
  return { checkpointDir, threshold, seconds: result.seconds, examplesPerSecond, bestEpoch: result.bestEpoch, test: splits.test };
}
