import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A fake Workers AI for the cascade's tests, bound as AI_TEST: `run(model, { messages })` answers
 * as Llama Guard 3 on Workers AI does (`{ response: { safe, categories } }`), judging the last
 * message by the rule of the scripted teacher (test/fixtures/llm/llama-guard-teacher.ts: a bomb
 * other than a bath bomb is unsafe, S9), and throws as the real binding does for a model it does
 * not have.
 */
const FAKE_WORKERS_AI = `
import { WorkerEntrypoint } from 'cloudflare:workers';
export class FakeWorkersAi extends WorkerEntrypoint {
  async run(model, inputs) {
    if (model !== '@cf/meta/llama-guard-3-8b') throw new Error('AiError: 5007: No such model ' + model);
    const text = inputs.messages[inputs.messages.length - 1].content.replace(/bath bombs?/gi, '');
    const unsafe = /\\bbomb/i.test(text);
    return { response: { safe: !unsafe, categories: unsafe ? ['S9'] : [] } };
  }
}
export default { fetch: () => new Response('fake Workers AI: call run() through the binding', { status: 404 }) };
`;

// Worker suites: run inside workerd with the real ORT WASM and a miniflare R2 bucket.
export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${root}/wrangler.toml` },
      // Scratch buckets, one per suite that empties and refills its own (suites run in parallel);
      // API key namespaces likewise (whether any key exists is namespace-wide), and rate limiters
      // of 3 requests a minute (one for keys, one for failed key attempts per address); and a fake
      // Workers AI for the cascade.
      miniflare: {
        r2Buckets: [
          'REGISTRY_TEST',
          'GUARD_TEST',
          'SHIPPED_TEST',
          'SWAP_TEST',
          'FAULTS_TEST',
          'FUZZ_TEST',
          'CHAT_TEST',
          'UPSTREAM_TEST',
          'FAIL_MODE_TEST',
          'CASCADE_TEST',
          'STREAM_TEST',
          'REMOTE_TEST',
        ],
        kvNamespaces: [
          'AUTH_KEYS_TEST',
          'LIMIT_KEYS_TEST',
          'POLICY_KEYS_TEST',
          'FUZZ_KEYS_TEST',
          'PIN_KEYS_TEST',
          'FAIL_MODE_KEYS_TEST',
          'CASCADE_KEYS_TEST',
          'REMOTE_KEYS_TEST',
        ],
        serviceBindings: { AI_TEST: { name: 'fake-workers-ai', entrypoint: 'FakeWorkersAi' } },
        workers: [{ name: 'fake-workers-ai', modules: true, script: FAKE_WORKERS_AI, compatibilityDate: '2026-11-01' }],
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
