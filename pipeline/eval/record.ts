/**
 * Records evaluation results in a model folder's manifest (`metrics.<key>`), so they travel with
 * the model: deploy gates read them, the worker's report page shows them. Only `metrics` changes;
 * the model file and its hash stay as they are.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readModelFolder } from '../model-folder.ts';

/** Sets `manifest.metrics[key] = value` in `<modelDir>/manifest.json`, after checking the folder. */
export async function recordMetrics(modelDir: string, key: string, value: unknown): Promise<void> {
  const { manifest } = await readModelFolder(modelDir);
  const updated = { ...manifest, metrics: { ...manifest.metrics, [key]: value } };
  await writeFile(join(modelDir, 'manifest.json'), `${JSON.stringify(updated, null, 2)}\n`);
}
