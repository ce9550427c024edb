/**
 * API keys end to end: the real worker under `wrangler dev` (its own temporary persistence
 * directory, an ephemeral port) and the real CLI writing to the same local KV. Open with no key
 * (saying so in /healthz and in the log), closed within the mode TTL once `keys create` ran: no
 * key or a wrong one is a 401, the printed key is served, and the request log names the key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.ts';
import { startDevWorker, type DevWorker } from './helpers/dev-worker.ts';
import { writeModelFolder } from './helpers/registry-targets.ts';

const READY_TIMEOUT_MS = 60_000;
/** The worker re-checks whether keys exist every 10 s; slack for 2 busy cores. */
const CLOSE_DEADLINE_MS = 25_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('API keys end to end: CLI -> local KV -> wrangler dev', () => {
  let dir: string;
  let persistTo: string;
  let base: string;
  let worker: DevWorker | undefined;
  const workerLog = () => worker?.log() ?? '';
  let key: string;
  const local = () => ['--local', '--persist-to', persistTo];
  const classify = (headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ prompt: 'hello there' }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-keys-e2e-'));
    persistTo = join(dir, 'state');
    await writeModelFolder(dir, 'keys-v1');
    expect((await cli('deploy', join(dir, 'keys-v1'), '--promote', ...local())).code).toBe(0);
    worker = await startDevWorker({ persistTo, logLevel: 'log' });
    base = worker.base;
  }, READY_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs open with no key, and says so in /healthz and in the log', async () => {
    expect((await classify()).status).toBe(200);
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ auth: 'open' });
    expect(workerLog()).toMatch(/"event":"auth_mode","mode":"open","message":"no API keys configured: the API is open to anyone/);
  });

  it(
    'requires a key once `keys create --local` has run, within the mode TTL',
    async () => {
      const created = await cli('keys', 'create', 'e2e', ...local());
      key = /^\s+(egk_\S+)$/m.exec(created.stdout)![1]!;
      const started = Date.now();
      let status = 200;
      while (Date.now() - started < CLOSE_DEADLINE_MS) {
        status = (await classify()).status;
        if (status === 401) break;
        await sleep(500);
      }
      expect(status).toBe(401);
      expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ auth: 'keys' });
    },
    CLOSE_DEADLINE_MS + 20_000,
  );

  it('answers a wrong key with 401 and serves the printed one, logging its name and no text', async () => {
    expect((await classify({ authorization: 'Bearer egk_wrong' })).status).toBe(401);
    const res = await classify({ authorization: `Bearer ${key}`, 'x-request-id': 'e2e-request-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('e2e-request-1');
    const deadline = Date.now() + 5_000;
    while (!workerLog().includes('"requestId":"e2e-request-1"') && Date.now() < deadline) await sleep(100);
    expect(workerLog()).toMatch(
      /"requestId":"e2e-request-1","method":"POST","path":"\/v1\/classify","status":200,"key":"e2e","model":"keys-v1","scores":\[[\d.]+\]/,
    );
    expect(workerLog()).not.toContain('hello there');
  });
});
