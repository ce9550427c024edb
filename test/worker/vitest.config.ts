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
      // Scratch buckets, one per suite that empties and refills its own (suites run in parallel);
      // API key namespaces likewise (whether any key exists is namespace-wide), and rate limiters
      // of 3 requests a minute (one for keys, one for failed key attempts per address).
      miniflare: {
        r2Buckets: ['REGISTRY_TEST', 'GUARD_TEST', 'SHIPPED_TEST', 'SWAP_TEST', 'FAULTS_TEST', 'FUZZ_TEST', 'CHAT_TEST', 'UPSTREAM_TEST', 'FAIL_MODE_TEST', 'STREAM_TEST', 'REMOTE_TEST'],
        kvNamespaces: ['AUTH_KEYS_TEST', 'LIMIT_KEYS_TEST', 'POLICY_KEYS_TEST', 'FUZZ_KEYS_TEST', 'PIN_KEYS_TEST', 'FAIL_MODE_KEYS_TEST', 'REMOTE_KEYS_TEST'],
        ratelimits: {
          RATE_LIMIT_TEST: { namespace_id: '9001', simple: { limit: 3, period: 60 } },
          AUTH_FAILURES_TEST: { namespace_id: '9002', simple: { limit: 3, period: 60 } },
        },
      },
    }),
  ],
  test: {
    include: ['test/worker/**/*.test.ts'],
    globalSetup: ['test/worker/global-setup.ts', 'test/setup/own-temp-dir.ts'],
    testTimeout: 30_000,
    // the worker logs one JSON line per request: show them for failing tests only
    silent: 'passed-only',
  },
});
