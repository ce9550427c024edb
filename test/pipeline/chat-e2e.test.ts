/**
 * Issue 13's "done when" for the chat route, end to end: the real worker under `wrangler dev`
 * serving the shipped model (deployed by the CLI to its local R2), with UPSTREAM_URL at a local
 * Node HTTP server that logs every body it receives. Every variant that used to slip harmful text
 * through is refused or blocked and the log never holds one; a benign conversation arrives as the
 * validated body re-serialised, byte for byte; a redirect to another origin is not followed, and
 * the upstream's own headers stay out of the answer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENIGN, BENIGN_CONVERSATION, CHAT_VARIANTS, DUPLICATE_HARM_FIRST, FDFA_OVER_ID_BUDGET } from '../fixtures/chat-variants.ts';
import { cli } from './helpers/cli.ts';
import { startDevWorker, type DevWorker } from './helpers/dev-worker.ts';

const MODEL_DIR = fileURLToPath(new URL('../../model', import.meta.url));
const READY_TIMEOUT_MS = 90_000;
const ANSWER = { id: 'chatcmpl-e2e', object: 'chat.completion', choices: [] };

interface Received {
  path: string;
  body: string;
}

/**
 * A local HTTP server that logs every request's path and body, then answers with `respond`
 * (default: ANSWER as JSON, with headers the worker must not pass on).
 */
async function loggingServer(respond?: (received: Received) => { status: number; headers: Record<string, string> } | null) {
  const log: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
      log.push(received);
      const special = respond?.(received);
      if (special) {
        res.writeHead(special.status, special.headers).end();
        return;
      }
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'openai-processing-ms': '12',
          'set-cookie': 'upstream=1; Path=/',
          'x-upstream-debug': 'node-7',
        })
        .end(JSON.stringify(ANSWER));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, log, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('the chat route end to end: wrangler dev -> a logging upstream', () => {
  let dir: string;
  let worker: DevWorker | undefined;
  let upstream: Awaited<ReturnType<typeof loggingServer>>;
  let elsewhere: Awaited<ReturnType<typeof loggingServer>>;

  const chat = (body: string) =>
    fetch(`${worker!.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  /** What the upstream received while `action` ran. */
  async function receivedDuring(action: () => Promise<void>): Promise<Received[]> {
    const before = upstream.log.length;
    await action();
    return upstream.log.slice(before);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeguard-chat-e2e-'));
    const persistTo = join(dir, 'state');
    expect((await cli('deploy', MODEL_DIR, '--promote', '--local', '--persist-to', persistTo)).code).toBe(0);
    elsewhere = await loggingServer();
    upstream = await loggingServer(({ path, body }) => {
      const { model } = JSON.parse(body) as { model?: string };
      if (path === '/v1/chat/completions' && model === 'redirect-elsewhere')
        return { status: 307, headers: { location: `${elsewhere.base}/v1/chat/completions` } };
      if (path === '/v1/chat/completions' && model === 'redirect-same-origin')
        return { status: 307, headers: { location: '/v2/chat/completions' } };
      return null;
    });
    worker = await startDevWorker({ persistTo, vars: { UPSTREAM_URL: `${upstream.base}/v1` } });
  }, READY_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await worker?.stop();
    await upstream?.close();
    await elsewhere?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses or blocks every variant of issue 13, and the upstream receives none of them', async () => {
    const answers: string[] = [];
    const received = await receivedDuring(async () => {
      for (const variant of [
        ...CHAT_VARIANTS,
        { name: 'over the feature-id budget', body: FDFA_OVER_ID_BUDGET, status: 413, code: 'too_much_text' },
      ]) {
        const response = await chat(variant.body);
        const { error } = (await response.json()) as { error: { code: string } };
        answers.push(`${variant.name}: ${response.status} ${error.code}`);
      }
    });
    expect(answers).toEqual([
      ...CHAT_VARIANTS.map((v) => `${v.name}: ${v.status} ${v.code}`),
      'over the feature-id budget: 413 too_much_text',
    ]);
    expect(received).toEqual([]);
  }, 120_000);

  it('forwards only the checked last value of duplicated content keys', async () => {
    const received = await receivedDuring(async () => {
      expect((await chat(DUPLICATE_HARM_FIRST)).status).toBe(200);
    });
    expect(received).toEqual([
      { path: '/v1/chat/completions', body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: BENIGN }] }) },
    ]);
    expect(upstream.log.some(({ body }) => body.includes('pipe bomb'))).toBe(false);
  });

  it("forwards a benign conversation as the validated body re-serialised, byte for byte, and answers with the upstream's body", async () => {
    let response: Response | undefined;
    const received = await receivedDuring(async () => {
      response = await chat(JSON.stringify(BENIGN_CONVERSATION, null, 2));
    });
    expect(response!.status).toBe(200);
    expect(await response!.json()).toEqual(ANSWER);
    expect(received).toEqual([{ path: '/v1/chat/completions', body: JSON.stringify(BENIGN_CONVERSATION) }]);
  });

  it("passes the upstream's content type and OpenAI headers, not its Set-Cookie or custom headers", async () => {
    const response = await chat(JSON.stringify(BENIGN_CONVERSATION));
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('openai-processing-ms')).toBe('12');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-upstream-debug')).toBeNull();
  });

  it('answers 502 for a redirect to another origin, which never receives the request', async () => {
    const response = await chat(JSON.stringify({ model: 'redirect-elsewhere', messages: [{ role: 'user', content: BENIGN }] }));
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: {
        code: 'upstream_error',
        message: 'the upstream redirected to another origin; EdgeGuard never forwards a request across origins',
      },
    });
    expect(elsewhere.log).toEqual([]);
  });

  it('follows a same-origin 307 with the same body', async () => {
    const body = JSON.stringify({ model: 'redirect-same-origin', messages: [{ role: 'user', content: BENIGN }] });
    let response: Response | undefined;
    const received = await receivedDuring(async () => {
      response = await chat(body);
    });
    expect(response!.status).toBe(200);
    expect(received).toEqual([
      { path: '/v1/chat/completions', body },
      { path: '/v2/chat/completions', body },
    ]);
  });
});
