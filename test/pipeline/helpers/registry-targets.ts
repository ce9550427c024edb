/**
 * The two registry targets for the Node suites, both real: the local R2 in a temporary wrangler
 * persistence directory (opened through Miniflare, as the CLI does), and the S3 API of an s3rver
 * on loopback. Each test gets a fresh bucket, named on the CLI with `--bucket`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import S3rver from 's3rver';
import type { Manifest } from '../../../src/guard/manifest.ts';
import { createLocalStore } from '../../../pipeline/registry/local-r2.ts';
import { createS3Store } from '../../../pipeline/registry/s3.ts';
import type { RegistryStore } from '../../../pipeline/registry/store.ts';
import { buildFixtureModel } from '../../fixtures/fixture-model.ts';

export interface Target {
  /** CLI flags that name the bucket. */
  flags: string[];
  /** The environment the CLI needs (credentials), for vi.stubEnv. */
  env: Record<string, string>;
  /** The same bucket, opened directly: to arrange and to check what the CLI did. */
  open(): Promise<RegistryStore>;
}

export interface TargetKind {
  name: string;
  start(): Promise<{ bucket(): Promise<Target>; stop(): Promise<void> }>;
}

let buckets = 0;
const nextBucket = () => `edgeguard-test-${++buckets}`;

/** wrangler's local R2, in a temporary persistence directory (never the developer's .wrangler/state). */
export const LOCAL: TargetKind = {
  name: 'the local R2 (wrangler persistence dir)',
  async start() {
    const persistTo = await mkdtemp(join(tmpdir(), 'edgeguard-r2-'));
    return {
      async bucket() {
        const bucket = nextBucket();
        return {
          flags: ['--local', '--persist-to', persistTo, '--bucket', bucket],
          env: {},
          open: () => createLocalStore({ persistTo, bucket }),
        };
      },
      stop: () => rm(persistTo, { recursive: true, force: true }),
    };
  },
};

const S3_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** R2's S3 API as played by s3rver on 127.0.0.1 (an ephemeral port). */
export const REMOTE: TargetKind = {
  name: 'remote R2 through the S3 API (s3rver on loopback)',
  async start() {
    const directory = await mkdtemp(join(tmpdir(), 'edgeguard-s3-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const admin = new AwsClient({ ...S3_KEY, service: 's3', region: 'auto' });
    return {
      async bucket() {
        const bucket = nextBucket();
        const created = await admin.fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
        if (!created.ok) throw new Error(`s3rver refused to create ${bucket}: ${created.status}`);
        return {
          flags: ['--endpoint', endpoint, '--bucket', bucket],
          env: { R2_ACCESS_KEY_ID: S3_KEY.accessKeyId, R2_SECRET_ACCESS_KEY: S3_KEY.secretAccessKey },
          open: async () => createS3Store({ endpoint, bucket, ...S3_KEY }),
        };
      },
      async stop() {
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
};

/**
 * Writes a fixture model folder (model.onnx + manifest.json) under `root`, with `metrics` recorded
 * in the manifest as `pipeline eval --update-manifest` would.
 */
export async function writeModelFolder(root: string, version: string, metrics?: Manifest['metrics']): Promise<string> {
  const { bytes, manifest } = await buildFixtureModel({ version });
  const dir = join(root, version);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), bytes);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, metrics: metrics ?? {} }, null, 2));
  return dir;
}

/** Eval metrics in the shape `pipeline eval --update-manifest` records. */
export function evalMetrics(sources: Record<string, { auprc: number | null; fpr: number | null }>): Manifest['metrics'] {
  return {
    eval: {
      threshold: 0.5,
      msPerExample: 0.1,
      sources: Object.fromEntries(
        Object.entries(sources).map(([name, m]) => [
          name,
          { rows: 100, harmful: 50, benign: 50, seenInTraining: false, auprcAgainst: null, precision: 0.9, recall: 0.9, f1: 0.9, ...m },
        ]),
      ),
    },
  };
}

/** Reads a JSON object from a store, or `null`. */
export async function readJsonObject(store: RegistryStore, key: string): Promise<unknown> {
  const bytes = await store.get(key);
  return bytes ? JSON.parse(new TextDecoder().decode(bytes)) : null;
}
