/**
 * The registry commands through the CLI, against both targets: the local R2 of `wrangler dev`
 * (a temporary persistence directory) and R2's S3 API (s3rver on loopback). Same behaviours,
 * same assertions; each test has its own bucket.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MODEL_KEYS } from '../../src/guard/manifest.ts';
import type { RegistryStore } from '../../pipeline/registry/store.ts';
import { sha256Hex } from '../../pipeline/sha256.ts';
import { seedLocal } from '../../pipeline/dev/seed.ts';
import { readCurrent } from '../../pipeline/registry/pointer.ts';
import { readDeployable, uploadVersion } from '../../pipeline/registry/versions.ts';
import { AwsClient } from 'aws4fetch';
import { createS3Store } from '../../pipeline/registry/s3.ts';
import { cli } from './helpers/cli.ts';
import { startConditionalS3, type ConditionalS3 } from './helpers/conditional-s3.ts';
import { LOCAL, REMOTE, evalMetrics, readJsonObject, writeModelFolder, type Target, type TargetKind } from './helpers/registry-targets.ts';

let models: string;
beforeAll(async () => {
  models = await mkdtemp(join(tmpdir(), 'edgeguard-models-'));
});
afterAll(async () => {
  await rm(models, { recursive: true, force: true });
});

/**
 * Starts a target for the enclosing describe and gives each test its own bucket: the CLI on that
 * bucket (`run`), model folders, and the bucket opened directly (`inStore`).
 */
function bucketPerTest(kind: TargetKind) {
  let started: Awaited<ReturnType<TargetKind['start']>>;
  let target: Target;
  beforeAll(async () => {
    started = await kind.start();
  });
  afterAll(async () => {
    await started?.stop();
  });
  beforeEach(async () => {
    target = await started.bucket();
    for (const [name, value] of Object.entries(target.env)) vi.stubEnv(name, value);
    return () => vi.unstubAllEnvs();
  });
  return {
    run: (...argv: string[]) => cli(...argv, ...target.flags),
    folder: (version: string, metrics?: Parameters<typeof writeModelFolder>[2]) => writeModelFolder(models, version, metrics),
    async inStore<T>(work: (store: RegistryStore) => Promise<T>): Promise<T> {
      const store = await target.open();
      try {
        return await work(store);
      } finally {
        await store.close();
      }
    },
  };
}

// What depends on the storage, on both targets.
describe.each([LOCAL, REMOTE])('registry on $name', (kind: TargetKind) => {
  const { run, folder, inStore } = bucketPerTest(kind);

  it('deploy uploads model.onnx and manifest.json byte for byte', async () => {
    const dir = await folder('up-1');
    const result = await run('deploy', dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^deployed up-1 to .*: model\.onnx \d+\.\d kB, manifest\.json [\d.]+ kB; sha256 verified after upload; no gate set\n$/,
    );
    await inStore(async (store) => {
      expect(sha256Hex((await store.get(MODEL_KEYS.model('up-1')))!)).toBe(sha256Hex(await readFile(join(dir, 'model.onnx'))));
      expect(sha256Hex((await store.get(MODEL_KEYS.manifest('up-1')))!)).toBe(sha256Hex(await readFile(join(dir, 'manifest.json'))));
      expect(await store.get(MODEL_KEYS.pointer)).toBeNull();
    });
  });

  it('deploy --promote writes a pointer naming the version, with the time and an empty history', async () => {
    const result = await run('deploy', await folder('first'), '--promote');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\npromoted first to current\n$/);
    const pointer = await inStore((store) => readJsonObject(store, MODEL_KEYS.pointer));
    expect(pointer).toEqual({ version: 'first', updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), history: [] });
  });

  it('deploy refuses to overwrite an existing version', async () => {
    expect((await run('deploy', await folder('once'))).code).toBe(0);
    const again = await run('deploy', await folder('once'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^edgeguard: version once already exists in .* \(2 files\); versions are immutable: export under a new --version\n$/,
    );
  });

  it('promote moves the pointer and keeps the replaced version on top of the history', async () => {
    await run('deploy', await folder('p1'), '--promote');
    await run('deploy', await folder('p2'));
    const result = await run('promote', 'p2');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^promoted p2 to current in .* \(was p1\)\n$/);
    const pointer = (await inStore((store) => readJsonObject(store, MODEL_KEYS.pointer))) as {
      version: string;
      history: { version: string }[];
    };
    expect(pointer.version).toBe('p2');
    expect(pointer.history.map((h) => h.version)).toEqual(['p1']);
  });

  it('rollback brings back the previous version, then the one before', async () => {
    for (const v of ['r1', 'r2', 'r3']) await run('deploy', await folder(v), '--promote');
    expect((await run('rollback')).stdout).toMatch(/from r3 to r2\n$/);
    expect((await run('rollback')).stdout).toMatch(/from r2 to r1\n$/);
    const last = await run('rollback');
    expect(last.code).toBe(1);
    expect(last.stderr).toBe('edgeguard: models/current.json has no earlier version to roll back to (current: r1)\n');
  });

  it('promote --candidate names a shadow candidate, and promoting it clears the candidate', async () => {
    await run('deploy', await folder('c1'), '--promote');
    await run('deploy', await folder('c2'));
    expect((await run('promote', 'c2', '--candidate')).stdout).toMatch(/^c2 is the shadow candidate in /);
    expect(await inStore((store) => readJsonObject(store, MODEL_KEYS.candidate))).toMatchObject({ version: 'c2' });
    await run('promote', 'c2');
    expect(await inStore((store) => store.get(MODEL_KEYS.candidate))).toBeNull();
  });

  it('list reports each version with its size, worst metrics and status', async () => {
    await run('deploy', await folder('l1', evalMetrics({ a: { auprc: 0.91, fpr: 0.03 }, b: { auprc: 0.88, fpr: null } })), '--promote');
    await run('deploy', await folder('l2'), '--promote');
    await run('deploy', await folder('l3'));
    await run('promote', 'l3', '--candidate');
    const result = await run('list', '--json');
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as { current: string; candidate: string; versions: Record<string, unknown>[] };
    expect(listed.current).toBe('l2');
    expect(listed.candidate).toBe('l3');
    const byVersion = Object.fromEntries(listed.versions.map((v) => [v.version, v]));
    expect(byVersion.l1).toMatchObject({ status: 'previous 1', minAuprc: 0.88, maxFpr: 0.03, quantization: 'float32', problem: null });
    expect(byVersion.l2).toMatchObject({ status: 'current', minAuprc: null });
    expect(byVersion.l3).toMatchObject({ status: 'candidate' });
    expect(byVersion.l1!.bytes).toBe(
      (await readFile(join(models, 'l1', 'model.onnx'))).length + (await readFile(join(models, 'l1', 'manifest.json'))).length,
    );
  });

  it('shadow-report gives agreement, mean |score difference| and flips for each candidate', async () => {
    const record = (at: string, items: [number, boolean, number, boolean][], candidate = 'c2') => ({
      schemaVersion: 1,
      at,
      route: '/v1/classify',
      current: { version: 'c1', threshold: 0.5 },
      candidate: { version: candidate, threshold: 0.6 },
      items: items.map(([cs, cf, ks, kf]) => ({ current: { score: cs, flagged: cf }, candidate: { score: ks, flagged: kf } })),
    });
    await inStore(async (store) => {
      const put = (at: string, value: unknown) =>
        store.put(MODEL_KEYS.shadow(at, 'abcd1234'), new TextEncoder().encode(JSON.stringify(value)), 'application/json');
      await put(
        '2026-11-27T10:00:00.000Z',
        record('2026-11-27T10:00:00.000Z', [
          [0.9, true, 0.8, true],
          [0.1, false, 0.1, false],
        ]),
      );
      await put(
        '2026-11-28T10:00:00.000Z',
        record('2026-11-28T10:00:00.000Z', [
          [0.55, true, 0.45, false],
          [0.4, false, 0.7, true],
        ]),
      );
      await put('2026-11-28T11:00:00.000Z', record('2026-11-28T11:00:00.000Z', [[0.2, false, 0.3, false]], 'c3'));
      await store.put('shadow/2026-11-28/notes.txt', new TextEncoder().encode('not a record'), 'text/plain');
    });
    const result = await run('shadow-report', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { records: number; skipped: string[]; comparisons: Record<string, unknown>[] };
    expect(report.records).toBe(3);
    expect(report.skipped).toEqual(['shadow/2026-11-28/notes.txt']);
    expect(report.comparisons[0]).toMatchObject({
      current: 'c1',
      candidate: 'c2',
      requests: 2,
      texts: 4,
      agreement: 0.5,
      flaggedToPassed: 1,
      passedToFlagged: 1,
    });
    expect(report.comparisons[0]!.meanAbsDiff).toBeCloseTo((0.1 + 0 + 0.1 + 0.3) / 4, 10);
    expect(report.comparisons[1]).toMatchObject({ candidate: 'c3', texts: 1, agreement: 1 });
    const text = await run('shadow-report', '--since', '2026-11-28');
    expect(text.stdout).toContain(
      'candidate c2 vs current c1: 2 texts in 1 requests, 2026-11-28 10:00Z .. 2026-11-28 10:00Z\n  agreement 0.0%, mean |score difference| 0.2000, flips: 1 flagged -> passed, 1 passed -> flagged',
    );
    expect(text.stderr).toBe('edgeguard: warning: 1 objects under shadow/ are not shadow records (first: shadow/2026-11-28/notes.txt)\n');
  });
});

// What does not depend on the storage (flags, the gate, checks, output), on the faster target.
describe('registry commands, whatever the target (on s3rver)', () => {
  const { run, folder, inStore } = bucketPerTest(REMOTE);

  it('promote --clear-candidate removes the candidate pointer', async () => {
    await run('deploy', await folder('k1'), '--promote');
    await run('deploy', await folder('k2'));
    await run('promote', 'k2', '--candidate');
    const result = await run('promote', '--clear-candidate');
    expect(result.stdout).toMatch(/^cleared the candidate k2 in /);
    expect(await inStore((store) => store.get(MODEL_KEYS.candidate))).toBeNull();
  });
  it('promote refuses a version whose stored model no longer matches its manifest', async () => {
    await run('deploy', await folder('ok'), '--promote');
    const rotten = await folder('rotten');
    await run('deploy', rotten);
    // same length, other bytes: only the hash can tell
    const length = (await readFile(join(rotten, 'model.onnx'))).length;
    await inStore((store) => store.put(MODEL_KEYS.model('rotten'), new Uint8Array(length), 'application/octet-stream'));
    const result = await run('promote', 'rotten');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('edgeguard: models/rotten/model.onnx does not match the sha256 in its manifest\n');
    expect(await inStore((store) => readJsonObject(store, MODEL_KEYS.pointer))).toMatchObject({ version: 'ok' });
  });
  it('deploy refuses a folder whose model.onnx does not match its manifest, uploading nothing', async () => {
    const dir = await folder('corrupt');
    const bytes = await readFile(join(dir, 'model.onnx'));
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(join(dir, 'model.onnx'), bytes);
    const result = await run('deploy', dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`edgeguard: ${dir}/model.onnx does not match the sha256 in its manifest\n`);
    expect(await inStore((store) => store.list('models/'))).toEqual([]);
  });
  it('deploy refuses a model below --min-auprc, naming the source', async () => {
    const dir = await folder('weak', evalMetrics({ harmbench: { auprc: 0.82, fpr: null }, xstest: { auprc: 0.95, fpr: 0.04 } }));
    const result = await run('deploy', dir, '--min-auprc', '0.9');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'edgeguard: weak misses the gate (AUPRC >= 0.9 on every source): harmbench: AUPRC 0.82 < 0.9; pass --force to deploy anyway\n',
    );
    expect(await inStore((store) => store.list('models/'))).toEqual([]);
  });

  it('deploy refuses a model above --max-fpr from a gate file', async () => {
    const dir = await folder('noisy', evalMetrics({ harmbench: { auprc: 0.95, fpr: null }, xstest: { auprc: 0.95, fpr: 0.08 } }));
    const gate = join(models, 'gate.json');
    await writeFile(gate, JSON.stringify({ minAuprc: 0.9, maxFpr: 0.05 }));
    const result = await run('deploy', dir, '--gate', gate);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/misses the gate \(AUPRC >= 0\.9, FPR <= 0\.05 on every source\): xstest: FPR 0\.08 > 0\.05;/);
  });

  it('deploy refuses a gated model whose manifest records no eval metrics', async () => {
    const result = await run('deploy', await folder('unmeasured'), '--max-fpr', '0.1');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/records no eval metrics \(run `pipeline eval --model <dir> --update-manifest`\)/);
  });

  it('deploy --force uploads a model that misses the gate, with a warning', async () => {
    const dir = await folder('forced', evalMetrics({ harmbench: { auprc: 0.5, fpr: null } }));
    const result = await run('deploy', dir, '--min-auprc', '0.9', '--force');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('edgeguard: warning: forced misses the gate (--force): harmbench: AUPRC 0.5 < 0.9\n');
    expect(result.stdout).toMatch(/gate missed, forced\n$/);
  });

  it('deploy passes a model that meets the gate on the named sources', async () => {
    const dir = await folder(
      'good',
      evalMetrics({ harmbench: { auprc: 0.93, fpr: null }, xstest: { auprc: null, fpr: 0.02 }, other: { auprc: 0.5, fpr: 0.5 } }),
    );
    const result = await run('deploy', dir, '--min-auprc', '0.9', '--max-fpr', '0.05', '--gate-sources', 'harmbench,xstest');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/gate passed: AUPRC >= 0\.9, FPR <= 0\.05 on harmbench, xstest\n$/);
  });

  it('deploy refuses a misspelt flag instead of ignoring it', async () => {
    const result = await run('deploy', await folder('typo'), '--min-aurpc', '0.9');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: unknown flag --min-aurpc \(flags: --promote, --gate, --min-auprc,/);
  });

  it('promote refuses a version that is not deployed', async () => {
    const result = await run('promote', 'ghost');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: version ghost is not deployed in .* \(no models\/ghost\/manifest\.json\)\n$/);
  });

  it('list marks the current version in its table', async () => {
    await run('deploy', await folder('t1'), '--promote');
    const result = await run('list');
    expect(result.stdout).toMatch(/\n\* t1 +\d{4}-\d\d-\d\d \d\d:\d\dZ +\d+\.\d kB +float32 +– +– +current\n$/);
  });

  it('show prints the manifest summary with per-source metrics', async () => {
    await run('deploy', await folder('s1', evalMetrics({ harmbench: { auprc: 0.931, fpr: null } })), '--promote');
    const result = await run('show', 's1');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^s1 \(current\) in /);
    expect(result.stdout).toContain('labels      harmful, hate, harassment, violence, self-harm, sexual, illicit');
    expect(result.stdout).toMatch(/harmbench +0\.931 +– +0\.900/);
  });
});

describe('what npm start serves (seedLocal)', () => {
  it('serves model/, follows a newer model/, keeps a version promoted by hand, and --reset overrides it', async () => {
    const started = await LOCAL.start();
    const target = await started.bucket();
    const store = await target.open();
    const seed = async (version: string, reset = false) =>
      seedLocal(store, await readDeployable(await writeModelFolder(models, version)), { reset });
    try {
      expect(await seed('start-1')).toEqual({ serving: 'start-1', seeded: 'start-1' });
      expect(await seed('start-1')).toEqual({ serving: 'start-1', seeded: 'start-1' }); // a restart
      // a pull brings a new default: start made start-1 current itself, so start-2 replaces it
      expect(await seed('start-2')).toEqual({ serving: 'start-2', seeded: 'start-2' });
      // someone promotes start-1 by hand: restarts keep it, --reset serves the folder again
      const promoted = await cli('promote', 'start-1', ...target.flags);
      expect(promoted.code).toBe(0);
      expect(await seed('start-2')).toEqual({ serving: 'start-1', seeded: 'start-2' });
      expect((await readCurrent(store))?.version).toBe('start-1');
      expect(await seed('start-2', true)).toEqual({ serving: 'start-2', seeded: 'start-2' });
      expect((await readCurrent(store))?.version).toBe('start-2');
      // start-2 exported again with other contents: refused, never served stale; --reset replaces it
      const again = await writeModelFolder(join(models, 'again'), 'start-2', evalMetrics({ set: { auprc: 0.5, fpr: 0.5 } }));
      await expect(seedLocal(store, await readDeployable(again), { reset: false })).rejects.toThrow(
        "the local R2 holds a start-2 with other files than the model folder's (re-exported under the same version?); `npm start -- --reset` replaces it",
      );
      expect(await seedLocal(store, await readDeployable(again), { reset: true })).toEqual({ serving: 'start-2', seeded: 'start-2' });
      expect(new TextDecoder().decode((await store.get('models/start-2/manifest.json'))!)).toContain('"auprc": 0.5');
    } finally {
      await store.close();
      await started.stop();
    }
  });
});

describe('the read-back check of deploy', () => {
  it('removes a version whose model reads back with another sha256, and says so', async () => {
    const started = await LOCAL.start();
    const target = await started.bucket();
    const store = await target.open();
    try {
      // The bucket returns a flipped byte for the model: what a broken transfer or disk would do.
      const flaky: RegistryStore = {
        ...store,
        async get(key) {
          const bytes = await store.get(key);
          if (bytes && key.endsWith('model.onnx')) bytes[0]! ^= 1;
          return bytes;
        },
      };
      const folder = await readDeployable(await writeModelFolder(models, 'flaky'));
      await expect(uploadVersion(flaky, folder)).rejects.toThrow(
        /^models\/flaky\/model\.onnx read back with sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…; the upload of flaky was removed$/,
      );
      expect(await store.list('models/')).toEqual([]);
    } finally {
      await store.close();
      await started.stop();
    }
  });
});

describe('deploy racing another deploy of the same version', () => {
  const CREDENTIALS = { accessKeyId: 'RACE', secretAccessKey: 'RACE' };
  /** The same version twice, with different manifests: what two exports under one --version give. */
  const twoFolders = async (version: string) => {
    const a = await writeModelFolder(join(models, 'a'), version, evalMetrics({ set: { auprc: 0.91, fpr: 0.01 } }));
    const b = await writeModelFolder(join(models, 'b'), version, evalMetrics({ set: { auprc: 0.5, fpr: 0.5 } }));
    return { a, b, manifestOf: (dir: string) => readFile(join(dir, 'manifest.json')) };
  };

  describe('on an S3 API that honours If-None-Match (R2 does)', () => {
    let s3: ConditionalS3;
    let flags: string[];
    beforeEach(async () => {
      s3 = await startConditionalS3();
      const created = await new AwsClient({ ...CREDENTIALS, service: 's3', region: 'auto' }).fetch(`${s3.endpoint}/race`, {
        method: 'PUT',
      });
      expect(created.status).toBe(200);
      flags = ['--endpoint', s3.endpoint, '--bucket', 'race'];
      vi.stubEnv('R2_ACCESS_KEY_ID', CREDENTIALS.accessKeyId);
      vi.stubEnv('R2_SECRET_ACCESS_KEY', CREDENTIALS.secretAccessKey);
      return async () => {
        vi.unstubAllEnvs();
        await s3.close();
      };
    });

    it('writes each file of a version with a conditional PUT (If-None-Match: *)', async () => {
      expect((await cli('deploy', await writeModelFolder(models, 'cond-1'), ...flags)).code).toBe(0);
      const puts = s3.requests.filter((r) => r.method === 'PUT' && r.path.startsWith('race/models/'));
      expect(puts).toEqual([
        { method: 'PUT', path: 'race/models/cond-1/model.onnx', ifNoneMatch: '*' },
        { method: 'PUT', path: 'race/models/cond-1/manifest.json', ifNoneMatch: '*' },
      ]);
    });

    it("refuses a deploy whose listing missed the other deploy's files, overwriting and deleting nothing", async () => {
      const { a, b, manifestOf } = await twoFolders('race-1');
      expect((await cli('deploy', a, ...flags)).code).toBe(0);
      s3.staleListing = true;
      const second = await cli('deploy', b, ...flags);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        /^edgeguard: version race-1 already exists in R2 bucket race at .* \(models\/race-1\/model\.onnx was written by another deploy meanwhile\); versions are immutable: export under a new --version\n$/,
      );
      expect(s3.objects.get('race/models/race-1/manifest.json')).toEqual(new Uint8Array(await manifestOf(a)));
      expect(s3.objects.has('race/models/race-1/model.onnx')).toBe(true);
    });

    it("lets exactly one of two deploys racing for a version succeed, and keeps the winner's files", async () => {
      const { a, b, manifestOf } = await twoFolders('race-2');
      s3.staleListing = true;
      const store = createS3Store({ endpoint: s3.endpoint, bucket: 'race', ...CREDENTIALS });
      const results = await Promise.allSettled([
        uploadVersion(store, await readDeployable(a)),
        uploadVersion(store, await readDeployable(b)),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const winner = results[0]!.status === 'fulfilled' ? a : b;
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.message).toMatch(
        /^version race-2 already exists/,
      );
      expect(s3.objects.get('race/models/race-2/manifest.json')).toEqual(new Uint8Array(await manifestOf(winner)));
    });
  });

  describe('on the local R2 of wrangler dev', () => {
    it('lets exactly one of two deploys racing for a version succeed, overwriting nothing, even when both listings missed the other', async () => {
      const { a, b, manifestOf } = await twoFolders('race-3');
      const started = await LOCAL.start();
      const store = await (await started.bucket()).open();
      try {
        // both listings taken before either deploy wrote: only the conditional writes stand between them
        const stale: RegistryStore = { ...store, list: async () => [] };
        const results = await Promise.allSettled([
          uploadVersion(stale, await readDeployable(a)),
          uploadVersion(stale, await readDeployable(b)),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
        const winner = results[0]!.status === 'fulfilled' ? a : b;
        expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.message).toMatch(
          /^version race-3 already exists in local R2 bucket .* was written by another deploy meanwhile/,
        );
        expect(await store.get(MODEL_KEYS.manifest('race-3'))).toEqual(new Uint8Array(await manifestOf(winner)));
        expect(sha256Hex((await store.get(MODEL_KEYS.model('race-3')))!)).toBe(sha256Hex(await readFile(join(winner, 'model.onnx'))));
        // and a later deploy of the version is refused whatever its listing says
        await expect(uploadVersion(stale, await readDeployable(winner === a ? b : a))).rejects.toThrow(/already exists/);
        expect(await store.get(MODEL_KEYS.manifest('race-3'))).toEqual(new Uint8Array(await manifestOf(winner)));
      } finally {
        await store.close();
        await started.stop();
      }
    });
  });
});

/** A loopback port nothing listens on (the kernel just handed it out and took it back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('remote target configuration', () => {
  beforeEach(() => () => vi.unstubAllEnvs());

  it('refuses to run without credentials, naming the variables', async () => {
    vi.stubEnv('R2_ACCESS_KEY_ID', '');
    vi.stubEnv('R2_SECRET_ACCESS_KEY', '');
    const result = await cli('list');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: remote R2 needs R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY in the environment/);
  });

  it('refuses to run without an account id or endpoint', async () => {
    vi.stubEnv('R2_ACCESS_KEY_ID', 'id');
    vi.stubEnv('R2_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('CLOUDFLARE_ACCOUNT_ID', '');
    vi.stubEnv('R2_ENDPOINT', '');
    const result = await cli('list');
    expect(result.stderr).toBe(
      'edgeguard: remote R2 needs CLOUDFLARE_ACCOUNT_ID (or --account-id), or an endpoint in R2_ENDPOINT (or --endpoint)\n',
    );
  });

  it('reports refused credentials in one line', async () => {
    const started = await REMOTE.start();
    try {
      const target = await started.bucket();
      vi.stubEnv('R2_ACCESS_KEY_ID', 'NOT-A-KEY');
      vi.stubEnv('R2_SECRET_ACCESS_KEY', 'wrong');
      const result = await cli('rollback', ...target.flags);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^edgeguard: GET models\/current\.json in R2 bucket edgeguard-test-\d+ at http:\/\/127\.0\.0\.1:\d+ failed: 403 InvalidAccessKeyId: [^\n]+\n$/,
      );
    } finally {
      await started.stop();
    }
  });

  it('reports an unreachable endpoint in one line', async () => {
    vi.stubEnv('R2_ACCESS_KEY_ID', 'id');
    vi.stubEnv('R2_SECRET_ACCESS_KEY', 'secret');
    const port = await closedPort();
    const result = await cli('rollback', '--endpoint', `http://127.0.0.1:${port}`);
    expect(result.stderr).toBe(`edgeguard: GET models/current.json: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)\n`);
  });
});
