import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package as a third party installs it (npm pack, a consumer worker in workerd) and its
// client, in Node. One file at a time: the consumer suite bundles three workers.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/package/**/*.test.ts'],
    globalSetup: ['test/setup/own-temp-dir.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 240_000,
  },
});
