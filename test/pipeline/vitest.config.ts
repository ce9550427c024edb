import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Node-side suites: the pipeline CLI, the featurizer, the trainer, the ONNX export.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/pipeline/**/*.test.ts'],
    globalSetup: ['test/setup/own-temp-dir.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
