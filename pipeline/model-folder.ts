/**
 * A model folder as `export` writes it and `eval`, `deploy` and `npm start` read it:
 * `manifest.json` and the model file it names, whose sha256 must match.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, type Manifest } from '../src/guard/manifest.ts';
import { CLIError } from './errors.ts';
import { sha256Hex } from './sha256.ts';

/**
 * Reads and validates a model folder's manifest and model bytes, checking the hash.
 * @throws CLIError naming what is wrong (missing file, bad manifest, hash mismatch)
 * @example const { manifest, bytes } = await readModelFolder('model');
 */
export async function readModelFolder(dir: string): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    throw new CLIError(`${dir}/manifest.json is missing or not JSON`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new CLIError(`${dir}/manifest.json: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  const manifest = parsed.data;
  const bytes = new Uint8Array(
    await readFile(join(dir, manifest.files.model.path)).catch(() => {
      throw new CLIError(`${dir}/${manifest.files.model.path} is missing`);
    }),
  );
  if (sha256Hex(bytes) !== manifest.files.model.sha256)
    throw new CLIError(`${dir}/${manifest.files.model.path} does not match the sha256 in its manifest`);
  return { manifest, bytes };
}
