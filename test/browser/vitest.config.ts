import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Browser suites: Node drives Debian's Chromium (playwright-core) against the real worker under
// `wrangler dev`. One worker and one browser at a time: the machine has two cores.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/setup/own-temp-dir.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
