/**
 * What the browser suite and `npm run bench:page` share: the real worker under `wrangler dev`
 * (a free port, its own temporary persistence directory, the local R2 seeded as `npm start` seeds
 * it) and Debian's Chromium driven by playwright-core, launched so that it makes no connection of
 * its own (this machine's network is closed; CI's too).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT, bucketName } from '../../pipeline/wrangler/wrangler.ts';
import { startDevWorker } from '../pipeline/helpers/dev-worker.ts';
import { createLocalStore } from '../../pipeline/registry/local-r2.ts';
import { MODEL_KEYS, ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';

/** Debian's Chromium, or EDGEGUARD_CHROMIUM; `null` when there is none (the suite skips). */
export const CHROMIUM = [process.env.EDGEGUARD_CHROMIUM, '/usr/bin/chromium'].find((path) => path && existsSync(path)) ?? null;

/** Where screenshots and measurements go (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-results', 'browser');

/** A model folder's manifest and bytes. */
export interface ModelFiles {
  manifest: Manifest;
  bytes: Uint8Array;
}

/** The shipped model (model/), or the fixture model when there is none yet. */
export async function shippedOrFixture(): Promise<ModelFiles & { shipped: boolean }> {
  const dir = join(ROOT, 'model');
  if (existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, 'model.onnx'))) {
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    return { manifest, bytes: new Uint8Array(await readFile(join(dir, 'model.onnx'))), shipped: true };
  }
  // No model trained yet: the fixture, written by its CLI as a new user would (`npm run fixture:model`,
  // src/README.md's Development).
  const fixture = await mkdtemp(join(tmpdir(), 'edgeguard-fixture-'));
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'test', 'fixtures', 'make-model.ts'), fixture, '--version', 'fixture-1'], {
      cwd: ROOT,
    });
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(fixture, 'manifest.json'), 'utf8')));
    return { manifest, bytes: new Uint8Array(await readFile(join(fixture, 'model.onnx'))), shipped: false };
  } finally {
    await rm(fixture, { recursive: true, force: true });
  }
}

/**
 * `model` evaluated by the real `pipeline eval --update-manifest` on a small labelled set, under
 * another version name: a manifest that carries curves and histograms, whatever model/ carries.
 */
export async function evaluatedCopy(
  model: ModelFiles,
  version: string,
  data: string,
  reference: string,
  scratch: string,
): Promise<ModelFiles> {
  const dir = join(scratch, version);
  await rm(dir, { recursive: true, force: true });
  await writeModelFolder(dir, { ...model, manifest: { ...model.manifest, version } });
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'pipeline', 'main.ts'), 'eval', '--model', dir, '--data', data, '--reference', reference, '--update-manifest', '--quiet'],
    { cwd: ROOT },
  );
  const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return { manifest, bytes: model.bytes };
}

async function writeModelFolder(dir: string, model: ModelFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), model.bytes);
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(model.manifest, null, 2)}\n`);
}

/** A running worker; `stop()` ends its process group and deletes its state. */
export interface Worker {
  base: string;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Seeds a fresh local R2 with `models` (the first one current, as `npm start` does) and starts
 * `wrangler dev` on it; resolves once it answers.
 */
export async function startWorker(models: ModelFiles[]): Promise<Worker> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeguard-browser-'));
  const persistTo = join(dir, 'state');
  const store = await createLocalStore({ persistTo, bucket: bucketName() });
  try {
    for (const { manifest, bytes } of models) {
      await store.put(MODEL_KEYS.model(manifest.version), bytes, 'application/octet-stream');
      await store.put(MODEL_KEYS.manifest(manifest.version), new TextEncoder().encode(JSON.stringify(manifest)), 'application/json');
    }
    await store.put(
      MODEL_KEYS.pointer,
      new TextEncoder().encode(JSON.stringify({ version: models[0]!.manifest.version })),
      'application/json',
    );
  } finally {
    await store.close();
  }
  try {
    const worker = await startDevWorker({ persistTo });
    return {
      base: worker.base,
      log: worker.log,
      stop: async () => {
        await worker.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Chromium flags for a closed network: no background connections, no first-run work. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with its own new, empty profile; `close()` deletes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!CHROMIUM) throw new Error('no Chromium: apt-get install chromium, or set EDGEGUARD_CHROMIUM');
  const profile = await mkdtemp(join(tmpdir(), 'edgeguard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 860 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
