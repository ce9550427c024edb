/**
 * Running the project's own wrangler from Node scripts (`npm start`, `npm run bench`,
 * `npm run deploy:check`): its path, the R2 bucket name from wrangler.toml, and the dry-run size.
 * Below the registry and keys commands and the dev scripts alike, so none of them imports another.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
// Local scripts: no telemetry, no update check.
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_NO_UPDATE_CHECK: 'true' };

/** The `bucket_name` of the R2 binding `binding` in wrangler.toml. */
export function bucketName(binding = 'MODELS'): string {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  for (const block of toml.split('[[r2_buckets]]').slice(1)) {
    if (new RegExp(`^\\s*binding\\s*=\\s*"${binding}"`, 'm').test(block)) {
      const name = /^\s*bucket_name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
      if (name) return name;
    }
  }
  throw new Error(`wrangler.toml has no [[r2_buckets]] with binding = "${binding}"`);
}

/** Runs wrangler to completion, capturing its output; throws with that output if it fails. */
export function wranglerSync(args: string[]): SpawnSyncReturns<string> {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result;
}

/** Starts a long-running wrangler (e.g. `dev`) in its own process group, output inherited or piped. */
export function wranglerSpawn(args: string[], stdio: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, stdio, detached: stdio === 'pipe' });
}

/** What `wrangler deploy --dry-run` would upload. */
export interface BundleSize {
  totalKiB: number;
  gzipKiB: number;
}

/** Cloudflare's compressed Worker size limits (Workers Paid, Workers Free). */
export const SIZE_LIMITS_KIB = { paid: 10 * 1024, free: 3 * 1024 } as const;

/** Bundles the worker as `wrangler deploy` would, without uploading; throws if wrangler refuses. */
export function dryRun(): BundleSize {
  const outdir = mkdtempSync(join(tmpdir(), 'edgeguard-dry-run-'));
  try {
    const { stdout, stderr } = wranglerSync(['deploy', '--dry-run', '--outdir', outdir]);
    const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout + stderr);
    if (!match) throw new Error(`could not find the upload size in wrangler's output:\n${stdout}${stderr}`);
    return { totalKiB: Number(match[1]), gzipKiB: Number(match[2]) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
