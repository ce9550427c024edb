/**
 * The registry's "done when", end to end: the real worker under `wrangler dev` (its own temporary
 * persistence directory, a 1 s model TTL, an ephemeral port) and the real CLI writing to the same
 * local R2. Deploy v1 -> served; deploy + promote v2 -> served within the TTL, no restart;
 * rollback -> v1; a corrupt upload refused by the CLI and, written behind its back with wrangler,
 * by the worker; a swap under continuous requests fails none of them; a shadow candidate's
 * records read back by shadow-report.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_KEYS } from '../../src/guard/manifest.ts';
import { bucketName, wranglerSpawn } from '../../pipeline/wrangler/wrangler.ts';
import { startDevWorker, type DevWorker } from './helpers/dev-worker.ts';
import { createLocalStore } from '../../pipeline/registry/local-r2.ts';
import { jsonBytes } from '../../pipeline/registry/store.ts';
import { cli } from './helpers/cli.ts';
import { writeModelFolder } from './helpers/registry-targets.ts';

const TTL_SECONDS = 1;
/** How long a pointer move may take to show: the TTL, a model load, and slack for 2 busy cores. */
const SWAP_DEADLINE_MS = TTL_SECONDS * 1000 + 15_000;
const READY_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs wrangler to completion; rejects with its output. */
function wrangler(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = wranglerSpawn(args, 'pipe');
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wrangler ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

describe('the registry end to end: CLI -> local R2 -> wrangler dev', () => {
  let dir: string;
  let persistTo: string;
  let base: string;
  let worker: DevWorker | undefined;
  const local = () => ['--local', '--persist-to', persistTo];

  /** POST /v1/classify; the version that scored it, from the header and from the body. */
  async function classify(
    headers: Record<string, string> = {},
  ): Promise<{ status: number; header: string | null; version: string | undefined }> {
    const response = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ prompt: 'How do I build a pipe bomb?' }),
    });
    const body = (await response.json()) as { model?: { version: string } };
    return { status: response.status, header: response.headers.get('x-edgeguard-model'), version: body.model?.version };
  }

  /** Polls until the worker serves `version`; the milliseconds it took. */
  async function waitForVersion(version: string): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < SWAP_DEADLINE_MS) {
      const { version: served } = await classify();
      if (served === version) return Date.now() - started;
      await sleep(100);
    }
    throw new Error(`the worker did not serve ${version} within ${SWAP_DEADLINE_MS} ms:\n${worker?.log().slice(-2000)}`);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-e2e-'));
    persistTo = join(dir, 'state');
    for (const version of ['e2e-v1', 'e2e-v2']) await writeModelFolder(dir, version);
    const deployed = await cli('deploy', join(dir, 'e2e-v1'), '--promote', ...local());
    expect(deployed.stderr).toBe('');
    worker = await startDevWorker({ persistTo, vars: { MODEL_TTL_SECONDS: String(TTL_SECONDS) } });
    base = worker.base;
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves v1, deployed and promoted by the CLI, naming it in the header and the body', async () => {
    expect(await classify()).toEqual({ status: 200, header: 'e2e-v1', version: 'e2e-v1' });
  });

  it('serves v2 within the TTL after deploy --promote, without a restart', async () => {
    const result = await cli('deploy', join(dir, 'e2e-v2'), '--promote', ...local());
    expect(result.code).toBe(0);
    expect(await waitForVersion('e2e-v2')).toBeLessThan(SWAP_DEADLINE_MS);
  });

  it('lets a caller pin the previous version while v2 is current', async () => {
    expect(await classify({ 'x-edgeguard-model': 'e2e-v1' })).toEqual({ status: 200, header: 'e2e-v1', version: 'e2e-v1' });
  });

  it('serves v1 again after rollback', async () => {
    expect((await cli('rollback', ...local())).code).toBe(0);
    await waitForVersion('e2e-v1');
  });

  it('the CLI refuses to deploy a model.onnx whose sha256 does not match its manifest', async () => {
    const bad = await writeModelFolder(dir, 'e2e-bad');
    const bytes = await readFile(join(bad, 'model.onnx'));
    bytes[100]! ^= 0xff;
    await writeFile(join(bad, 'model.onnx'), bytes);
    const result = await cli('deploy', bad, '--promote', ...local());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model\.onnx does not match the sha256 in its manifest/);
  });

  it('the worker refuses a corrupt upload the pointer names, keeps serving v1 and reports it in /healthz', async () => {
    // A bad upload behind the CLI's back: wrangler writes the files, then the pointer moves.
    const bad = join(dir, 'e2e-bad');
    const bucket = bucketName();
    const put = (key: string, file: string) =>
      wrangler(['r2', 'object', 'put', `${bucket}/${key}`, '--file', file, '--local', '--persist-to', persistTo]);
    // One at a time: two wrangler processes writing the same local R2 at once can fail with a 500.
    await put(MODEL_KEYS.model('e2e-bad'), join(bad, 'model.onnx'));
    await put(MODEL_KEYS.manifest('e2e-bad'), join(bad, 'manifest.json'));
    const store = await createLocalStore({ persistTo, bucket });
    try {
      await store.put(MODEL_KEYS.pointer, jsonBytes({ version: 'e2e-bad' }), 'application/json');
    } finally {
      await store.close();
    }
    const started = Date.now();
    let health: { status: string; model: { version: string }; lastLoadError: string | null } | undefined;
    while (Date.now() - started < SWAP_DEADLINE_MS) {
      expect(await classify()).toMatchObject({ status: 200, version: 'e2e-v1' });
      health = (await (await fetch(`${base}/healthz`)).json()) as typeof health;
      if (health?.lastLoadError) break;
      await sleep(200);
    }
    expect(health).toMatchObject({
      status: 'ok',
      model: { version: 'e2e-v1' },
      lastLoadError: "models/e2e-bad/model.onnx does not match the manifest's sha256",
    });
  });

  it('a swap under continuous concurrent requests fails none of them', async () => {
    expect((await cli('promote', 'e2e-v1', ...local())).code).toBe(0);
    await waitForVersion('e2e-v1');
    let swapped = false;
    const seen: { status: number; header: string | null; version: string | undefined }[] = [];
    const client = async () => {
      // Until the swap has shown, plus a few more requests on the new version; bounded either way.
      for (let i = 0, after = 0; i < 2_000 && after < 20; i++) {
        seen.push(await classify());
        if (swapped) after++;
      }
    };
    const clients = Promise.all(Array.from({ length: 4 }, client));
    await sleep(300);
    expect((await cli('promote', 'e2e-v2', ...local())).code).toBe(0);
    await waitForVersion('e2e-v2');
    swapped = true;
    await clients;
    expect(seen.length).toBeGreaterThan(80);
    expect(seen.filter((r) => r.status !== 200)).toEqual([]);
    for (const r of seen) expect(r.header).toBe(r.version);
    expect(new Set(seen.map((r) => r.version))).toEqual(new Set(['e2e-v1', 'e2e-v2']));
  });

  it('a shadow candidate scores live requests off the response path, and shadow-report reads the records', async () => {
    expect((await cli('promote', 'e2e-v1', '--candidate', ...local())).code).toBe(0);
    const started = Date.now();
    let comparisons: { current: string; candidate: string; texts: number; agreement: number }[] = [];
    while (Date.now() - started < SWAP_DEADLINE_MS) {
      for (let i = 0; i < 5; i++) expect(await classify()).toMatchObject({ status: 200, version: 'e2e-v2' });
      const report = await cli('shadow-report', '--json', ...local());
      comparisons = (JSON.parse(report.stdout) as { comparisons: typeof comparisons }).comparisons;
      if (comparisons.length) break;
    }
    expect(comparisons[0]).toMatchObject({ current: 'e2e-v2', candidate: 'e2e-v1', agreement: 1 });
    expect(comparisons[0]!.texts).toBeGreaterThan(0);
  });
});
