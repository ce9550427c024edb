/**
 * `eval`: score data with an exported model through the worker's featurizer and onnxruntime-web
 * kernels, and report per-source metrics (metrics.json, report.md with SVG charts). With
 * `--update-manifest` the metrics are also recorded in the model's manifest. The work is in
 * eval/eval-stage.ts.
 */
import { defineFlagCommand } from '../flag-command.ts';
import { EvalOptionsSchema, runEvalStage } from '../eval/eval-stage.ts';

export default defineFlagCommand({
  meta: { name: 'eval', description: 'Score data with an exported model as the worker does; per-source AUPRC, F1, FPR, latency.' },
  flags: EvalOptionsSchema,
  run: runEvalStage,
});
