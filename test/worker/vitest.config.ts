import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Worker suites: run inside workerd with the real ORT WASM and a miniflare R2 bucket.
export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${root}/wrangler.toml` },
      // Scratch buckets, one per suite that empties and refills its own (suites run in parallel).
      miniflare: { r2Buckets: ['REGISTRY_TEST', 'GUARD_TEST', 'SHIPPED_TEST', 'SWAP_TEST'] },
    }),
  ],
  test: {
    include: ['test/worker/**/*.test.ts'],
    globalSetup: ['test/worker/global-setup.ts'],
    testTimeout: 30_000,
  },
});
