/**
 * The package as a third party gets it: `npm pack` (which builds dist/ through `prepack`), the
 * tarball installed with npm into a throwaway consumer (test/package/consumer/, copied into a
 * temporary folder; its other dependencies linked from this repository's node_modules, so nothing
 * is fetched), both workers bundled as `wrangler deploy --dry-run` would upload them, and run
 * together in workerd by wrangler's test harness (Miniflare, several workers, service bindings
 * between them), next to a local OpenAI-compatible SSE upstream. Shared by the package test and
 * `npm run bench:consumer`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestHarness, type TestHarness, type TestHarnessOptions } from 'wrangler';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_NO_UPDATE_CHECK: 'true', NO_COLOR: '1' };

/** The consumer's dependencies besides the tarball: the versions this repository installed. */
const LINKED = ['hono', 'zod', 'unhomoglyph', 'onnxruntime-web', '@cloudflare/workers-types'];

function run(command: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, env: ENV, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  return result;
}

/** The JSON `npm pack --json` prints, among the output of the `prepack` script that ran before it. */
function packJson(stdout: string): { filename: string; files: { path: string }[]; size: number } {
  const json = /^\[\n[\s\S]*^\]$/m.exec(stdout);
  if (!json) throw new Error(`no JSON in npm pack's output:\n${stdout}`);
  return (JSON.parse(json[0]) as [{ filename: string; files: { path: string }[]; size: number }])[0];
}

/** What `wrangler deploy --dry-run` said it would upload, and the files of the bundle. */
export interface Bundle {
  outdir: string;
  totalKiB: number;
  gzipKiB: number;
  files: string[];
}

function dryRun(cwd: string, config: string, outdir: string): Bundle {
  const { stdout, stderr } = run(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--config', config, '--outdir', outdir], cwd);
  const output = stdout + stderr;
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  if (!match) throw new Error(`no upload size in wrangler's output:\n${output}`);
  return { outdir, totalKiB: Number(match[1]), gzipKiB: Number(match[2]), files: readdirSync(outdir) };
}

/** The packed package installed into a consumer, and the three workers bundled. */
export interface Installed {
  dir: string;
  tarball: string;
  /** `npm pack --json`'s account of the tarball: its files. */
  packed: { files: { path: string }[]; size: number };
  consumer: string;
  bundles: { edgeguard: Bundle; remote: Bundle; inProcess: Bundle; clientOnly: Bundle };
  /** Removes everything it made. */
  remove(): void;
}

/**
 * Packs the package, installs the tarball into a copy of the example consumer and bundles the
 * EdgeGuard worker and the three consumers (remote, in-process, client only).
 * @throws with the command's output when npm or wrangler fails
 */
export function packAndInstall(): Installed {
  const dir = mkdtempSync(join(tmpdir(), 'edgeguard-consumer-'));
  try {
    const packed = packJson(run('npm', ['pack', '--json', '--pack-destination', dir], ROOT).stdout);
    const tarball = join(dir, packed.filename);
    const consumer = join(dir, 'consumer');
    cpSync(join(ROOT, 'test', 'package', 'consumer'), consumer, { recursive: true });
    const linked = Object.fromEntries(LINKED.map((name) => [name, `file:${join(ROOT, 'node_modules', name)}`]));
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify(
        { name: 'consumer', private: true, type: 'module', dependencies: { edgeguard: `file:${tarball}`, ...linked } },
        null,
        2,
      ),
    );
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], consumer);
    const bundles = {
      edgeguard: dryRun(ROOT, join(ROOT, 'wrangler.toml'), join(dir, 'edgeguard-bundle')),
      remote: dryRun(consumer, 'wrangler.toml', join(dir, 'remote-bundle')),
      inProcess: dryRun(consumer, 'in-process.wrangler.toml', join(dir, 'in-process-bundle')),
      clientOnly: dryRun(consumer, 'client-only.wrangler.toml', join(dir, 'client-only-bundle')),
    };
    return { dir, tarball, packed, consumer, bundles, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Type-checks the consumer against the package's declarations, as its author's `tsc` would. */
export function typecheckConsumer(consumer: string): string {
  const { stdout, stderr } = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer);
  return stdout + stderr;
}

/**
 * A local OpenAI-compatible upstream: a chat completion with `stream: true` answers `events` as an
 * SSE stream, one without answers a short chat.completion.
 */
export interface SseUpstream {
  url: string;
  /** Sets what the next streams send, and how long to wait between events (ms). */
  answer(events: string[], delayMs?: number): void;
  /** What each request sent: its body. */
  requests: { body: unknown }[];
  close(): Promise<void>;
}

export async function startSseUpstream(): Promise<SseUpstream> {
  let events: string[] = [];
  let delayMs = 0;
  const requests: SseUpstream['requests'] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const parsed = JSON.parse(body || 'null') as { stream?: boolean } | null;
    requests.push({ body: parsed });
    if (!parsed?.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1_700_000_000,
          model: 'gpt-test',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const event of events) {
      if (res.destroyed) return;
      res.write(event);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    answer: (next, delay = 0) => {
      events = next;
      delayMs = delay;
    },
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The three workers running together: EdgeGuard (the primary, on `url`) and both consumers. */
export interface Workers {
  harness: TestHarness;
  /** EdgeGuard's URL, which the consumers' HTTP routes call. */
  url: string;
  /** An API key EdgeGuard accepts (the API is keyed, so the HTTP routes need it; the binding does not). */
  apiKey: string;
}

/**
 * Starts EdgeGuard and both consumers from their bundles in one workerd, the consumer's
 * `EDGEGUARD` binding on EdgeGuard's entrypoint, its HTTP routes on EdgeGuard's URL.
 * @param seed puts a model (and an API key) into the workers' storage once they run
 */
export async function startWorkers(
  installed: Installed,
  upstream: string,
  seed: (harness: TestHarness) => Promise<string>,
): Promise<Workers> {
  const { bundles, consumer } = installed;
  const options = (edgeguardUrl: string, apiKey: string): TestHarnessOptions => ({
    workers: [
      {
        configPath: join(ROOT, 'wrangler.toml'),
        prebuiltWorkerDir: bundles.edgeguard.outdir,
        vars: { UPSTREAM_URL: upstream, MODERATE_RESPONSES: 'stream', SHADOW_SAMPLE_RATE: '0' },
      },
      {
        configPath: join(consumer, 'wrangler.toml'),
        prebuiltWorkerDir: bundles.remote.outdir,
        vars: { EDGEGUARD_URL: edgeguardUrl, UPSTREAM_URL: upstream },
        secrets: { EDGEGUARD_KEY: apiKey },
      },
      {
        configPath: join(consumer, 'in-process.wrangler.toml'),
        prebuiltWorkerDir: bundles.inProcess.outdir,
        vars: { UPSTREAM_URL: upstream },
      },
    ],
  });
  const harness = createTestHarness(options('http://unknown.invalid', ''));
  const { url } = await harness.listen();
  const apiKey = await seed(harness);
  // the consumer's HTTP routes need EdgeGuard's URL and key, known once it listens
  await harness.update(options(url.origin, apiKey));
  return { harness, url: (await harness.listen()).url.origin, apiKey };
}
