/** `export`: a distilled checkpoint -> model.onnx + manifest.json, int8 where accuracy holds. The work is in onnx/export-stage.ts. */
import { defineFlagCommand } from '../flag-command.ts';
import { ExportOptionsSchema, runExportStage } from '../onnx/export-stage.ts';

export default defineFlagCommand({
  meta: { name: 'export', description: 'Export a checkpoint to model.onnx + manifest.json (int8 where accuracy holds).' },
  flags: ExportOptionsSchema,
  run: runExportStage,
});
