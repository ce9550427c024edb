/**
 * Help read through a pipe or written to a file is plain text: citty colours it whenever its own
 * checks (NO_COLOR, TERM=dumb, CI, TEST) do not say otherwise, so the CLI runs here as a user's
 * shell would start it, in a child process with none of the test runner's variables.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../pipeline/main.ts', import.meta.url));

/** The environment of a user's shell: no CI, TEST, VITEST* or NO_COLOR. */
function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CI|TEST|NO_COLOR|VITEST.*|FORCE_COLOR)$/.test(name)));
}

const helpThroughAPipe = (...argv: string[]) => spawnSync(process.execPath, [MAIN, ...argv], { env: shellEnv(), encoding: 'utf8' });

describe('--help through a pipe', () => {
  it.each([['--help'], ['deploy', '--help'], ['keys', 'create', '--help']])('prints %s without ANSI escape codes', (...argv) => {
    const { status, stdout } = helpThroughAPipe(...argv);
    expect(status).toBe(0);
    expect(stdout).toMatch(/USAGE/);
    expect(stdout).not.toMatch(/\u001b\[/);
  });
});
