#!/usr/bin/env node
/**
 * `npm start`: seeds the local R2 bucket (the one `wrangler dev` serves) with the model in
 * `model/` (deployed and made current, see `seed`), then serves the worker on
 * http://127.0.0.1:$PORT (default 8787). `--model <dir>` seeds another folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';
import { createLocalStore } from '../registry/local-r2.ts';
import { readCurrent } from '../registry/pointer.ts';
import { promote } from '../registry/release.ts';
import { readDeployable, uploadVersion, versionPrefix } from '../registry/versions.ts';
import { ROOT, bucketName, wranglerSpawn } from './wrangler.ts';

class StartError extends Error {}

function readModel(dir: string): { manifest: Manifest; modelPath: string; manifestPath: string } {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new StartError(`${manifestPath} does not exist: train and export a model first, or pass --model <dir>`);
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StartError(`${manifestPath} is invalid: ${issue.path.join('.')}: ${issue.message}`);
  }
  const manifest = parsed.data;
  const modelPath = join(dir, 'model.onnx');
  if (!existsSync(modelPath)) throw new StartError(`${modelPath} does not exist`);
  const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
  if (sha256 !== manifest.files.model.sha256) throw new StartError(`${modelPath} does not match the sha256 in ${manifestPath}`);
  return { manifest, modelPath, manifestPath };
}

function port(): number {
  const raw = process.env.PORT ?? '8787';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new StartError(`PORT must be a port number, got '${raw}'`);
  return value;
}

/**
 * Deploys the model folder to the local R2 if its version is not there yet, and makes it current
 * unless another deployed version already is (one promoted with `pipeline promote --local`), so a
 * restart keeps the pointer and its rollback history. `--reset` makes the folder's version current
 * whatever the pointer says. Writes go through the registry's local store (Miniflare on wrangler's
 * persistence directory), the same code as `pipeline deploy --local`.
 */
async function seed(dir: string, reset: boolean): Promise<{ serving: string; seeded: string }> {
  const { manifest } = readModel(dir);
  const folder = await readDeployable(dir);
  const store = await createLocalStore({ bucket: bucketName() });
  try {
    if ((await store.list(versionPrefix(manifest.version))).length === 0) await uploadVersion(store, folder);
    const current = await readCurrent(store);
    if (current && current.version !== manifest.version && !reset) return { serving: current.version, seeded: manifest.version };
    await promote(store, manifest.version);
    return { serving: manifest.version, seeded: manifest.version };
  } finally {
    await store.close();
  }
}

try {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'model' }, reset: { type: 'boolean', default: false } } });
  const listen = port();
  const { serving, seeded } = await seed(resolve(ROOT, values.model), values.reset);
  console.log(
    serving === seeded
      ? `edgeguard: serving model ${serving} from the local R2 on http://127.0.0.1:${listen}`
      : `edgeguard: serving model ${serving} (promoted earlier; \`npm start -- --reset\` serves ${seeded}) on http://127.0.0.1:${listen}`,
  );
  const dev = wranglerSpawn(['dev', '--ip', '127.0.0.1', '--port', String(listen)]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => dev.kill(signal));
  dev.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} catch (error) {
  if (!(error instanceof StartError) && !(error instanceof CLIError)) throw error;
  console.error(`edgeguard: ${error.message}`);
  process.exitCode = 1;
}
