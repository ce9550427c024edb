#!/usr/bin/env node
/**
 * `npm start`: seeds the local R2 bucket (the one `wrangler dev` serves) with the model in
 * `model/` (manifest, model and the pointer `models/current.json`), then serves the worker on
 * http://127.0.0.1:$PORT (default 8787). `--model <dir>` seeds another folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL_KEYS, ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';
import { ROOT, bucketName, wranglerSpawn, wranglerSync } from './wrangler.ts';

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

/** Puts the model's files, then the pointer, into the local R2 bucket. */
function seed(dir: string): string {
  const { manifest, modelPath, manifestPath } = readModel(dir);
  const bucket = bucketName();
  const scratch = mkdtempSync(join(tmpdir(), 'edgeguard-start-'));
  try {
    const pointerPath = join(scratch, 'current.json');
    writeFileSync(pointerPath, JSON.stringify({ version: manifest.version }));
    const put = (key: string, file: string, type: string) =>
      wranglerSync(['r2', 'object', 'put', `${bucket}/${key}`, '--file', file, '--content-type', type, '--local']);
    put(MODEL_KEYS.model(manifest.version), modelPath, 'application/octet-stream');
    put(MODEL_KEYS.manifest(manifest.version), manifestPath, 'application/json');
    put(MODEL_KEYS.pointer, pointerPath, 'application/json');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return manifest.version;
}

try {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'model' } } });
  const listen = port();
  const version = seed(resolve(ROOT, values.model));
  console.log(`edgeguard: seeded local R2 with model ${version}; serving on http://127.0.0.1:${listen}`);
  const dev = wranglerSpawn(['dev', '--ip', '127.0.0.1', '--port', String(listen)]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => dev.kill(signal));
  dev.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} catch (error) {
  if (!(error instanceof StartError)) throw error;
  console.error(`edgeguard: ${error.message}`);
  process.exitCode = 1;
}
