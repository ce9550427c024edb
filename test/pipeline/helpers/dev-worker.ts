/**
 * The real worker under `wrangler dev` for end-to-end tests: on a free loopback port, with its own
 * persistence directory (the local R2/KV the CLI writes with `--local --persist-to`), waited for
 * until it answers, and stopped by ending its process group.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { wranglerSpawn } from '../../../pipeline/wrangler/wrangler.ts';

const READY_TIMEOUT_MS = 90_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface DevWorker {
  /** e.g. http://127.0.0.1:40123 */
  base: string;
  process: ChildProcess;
  /** Everything wrangler printed so far. */
  log(): string;
  /** Ends wrangler dev and its workerd (their own process group only). */
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` on loopback and resolves once `GET <probe>` answers.
 * @param options.persistTo wrangler's persistence directory (a temporary one in tests)
 * @param options.vars `--var` overrides, e.g. `{ MODEL_TTL_SECONDS: '1' }`
 * @param options.logLevel wrangler's log level (default 'warn'; 'log' to read the worker's logs)
 * @param options.config another wrangler config than the project's (e.g. the load bench's no-op)
 * @param options.probe the path answered once ready (default `/`)
 * @param options.readyTimeoutMs how long it may take to answer (default 90 s)
 * @param options.logTail keep only the last this many characters of the log (a soak writes a lot)
 * @throws when wrangler exits or is not ready in time, with what it printed
 */
export async function startDevWorker(options: {
  persistTo: string;
  vars?: Record<string, string>;
  logLevel?: 'warn' | 'log';
  config?: string;
  probe?: string;
  readyTimeoutMs?: number;
  logTail?: number;
}): Promise<DevWorker> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const child = wranglerSpawn(
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(await freePort()),
      ...(options.config ? ['--config', options.config] : []),
      '--persist-to',
      options.persistTo,
      ...vars,
      '--show-interactive-dev-session',
      'false',
      '--log-level',
      options.logLevel ?? 'warn',
    ],
    'pipe',
  );
  let log = '';
  const keep = (chunk: Buffer) => void (log = options.logTail ? (log + chunk.toString()).slice(-options.logTail) : log + chunk.toString());
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
    }
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready within ${readyTimeoutMs} ms:\n${log}`);
    }
    const ok = await fetch(`${base}${options.probe ?? '/'}`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(250);
  }
  return { base, process: child, log: () => log, stop };
}
