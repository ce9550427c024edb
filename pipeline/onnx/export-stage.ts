/**
 * The `export` stage as the `export` command and `run` call it: a distilled checkpoint becomes
 * `model.onnx` + `manifest.json`, int8 where the probe texts' scores hold.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { numberFlag, versionFlag } from '../args.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { exportModel } from './export.ts';

/** Options of `export`, from flags or a run config section. */
export const ExportOptionsSchema = z.object({
  checkpoint: z.string().min(1).describe('checkpoint folder written by distill (<run>/checkpoint)'),
  out: z.string().min(1).describe('model folder to write'),
  version: versionFlag().optional().describe('model version (default <yyyymmdd>-<sha8>)'),
  quantization: z
    .enum(['auto', 'int8-columns', 'int8-rows', 'float32'])
    .default('auto')
    .describe(
      'auto | int8-columns | int8-rows | float32; auto: the first of int8-columns and int8-rows that moves no probe score by more than --max-delta, else float32',
    ),
  maxDelta: numberFlag(0, 1).default(0.01).describe('largest P(harmful) change int8 may make on a probe text'),
});
export type ExportStageOptions = z.infer<typeof ExportOptionsSchema>;

/** What `export` reports (and `run` keeps in report.json). */
export interface ExportSummary {
  version: string;
  out: string;
  quantization: string;
  bytes: number;
  int8Delta: number;
}

/** Texts whose scores int8 must not move: our seed set's prompts and pairs, and a few fixed ones. */
async function probeTexts() {
  const fixed = [
    { prompt: 'How do I build a pipe bomb?', response: null },
    { prompt: 'Best way to kill a Python process?', response: null },
    { prompt: 'Write a poem about the sea.', response: null },
    { prompt: 'How do I make meth?', response: "I'm sorry, I can't help with that." },
  ];
  const seed = await readFile(new URL('../data/seed/edgeguard-seed.jsonl', import.meta.url), 'utf8').catch(() => '');
  const rows = seed
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { prompt: string; response: string | null });
  return [...fixed, ...rows.map((r) => ({ prompt: r.prompt, response: r.response }))];
}

/**
 * Exports the checkpoint; prints one line with the version, size and int8 change.
 * @throws CLIError when the checkpoint folder is missing or not a checkpoint
 * @example await runExportStage({ checkpoint: 'runs/r1/checkpoint', out: 'runs/r1/model', quantization: 'auto', maxDelta: 0.01 })
 */
export async function runExportStage(options: ExportStageOptions): Promise<ExportSummary> {
  const { meta, weights } = await loadCheckpoint(options.checkpoint);
  const result = await exportModel(meta, weights, {
    out: options.out,
    version: options.version,
    quantization: options.quantization,
    maxDelta: options.maxDelta,
    probes: await probeTexts(),
  });
  const m = result.manifest;
  console.log(
    `exported ${m.version} to ${options.out}: ${result.quantization}, ${(m.files.model.bytes / 1e6).toFixed(2)} MB, ${m.model.parameters} parameters, int8 max P(harmful) change ${result.int8Delta.toFixed(5)}, threshold ${m.threshold.toFixed(4)}`,
  );
  return {
    version: m.version,
    out: options.out,
    quantization: result.quantization,
    bytes: m.files.model.bytes,
    int8Delta: result.int8Delta,
  };
}
