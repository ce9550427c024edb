/**
 * A global setup for the Node-side suites: the run gets a temporary directory of its own
 * (TMPDIR, which `os.tmpdir()` and the processes the tests start read), and the run fails if a test
 * left anything in it. The directory is removed either way, so `npm test` leaves nothing behind;
 * the failure names what a test forgot to remove.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the tools the tests run leave there themselves, not a test: wrangler's version-check cache
 * and Node's module compile cache (which wrangler turns on), and the scratch folder of the
 * Miniflare that @cloudflare/vitest-plugin runs the worker suites in (disposed after this
 * teardown). They go with the directory.
 */
const TOOL_LEFTOVERS = /^(update-check|node-compile-cache|miniflare-[0-9a-f]+)$/;

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'edgeguard-run-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = readdirSync(root).filter((name) => !TOOL_LEFTOVERS.test(name));
    rmSync(root, { recursive: true, force: true });
    if (left.length > 0) {
      throw new Error(`the tests left ${left.length} entries in the temporary directory (removed now): ${left.slice(0, 8).join(', ')}`);
    }
  };
}
