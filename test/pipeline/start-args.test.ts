/**
 * `npm start`'s bad arguments are the user's mistakes: one line naming them and exit code 1,
 * before anything is seeded or started (never a stack trace).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const START = fileURLToPath(new URL('../../pipeline/dev/start.ts', import.meta.url));

const start = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [START, ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

describe('npm start with bad arguments', () => {
  it.each([
    [['--port', '1'], {}, "edgeguard: Unknown option '--port'"],
    [['--var', 'NOCOLON'], {}, "edgeguard: --var: 'NOCOLON' is not KEY:VALUE"],
    [[], { PORT: 'eighty' }, "edgeguard: PORT must be a port number, got 'eighty'"],
  ] as [string[], NodeJS.ProcessEnv, string][])('refuses %j in one line', (argv, env, message) => {
    const { status, stderr } = start(argv, env);
    expect(status).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([message]);
  });
});
