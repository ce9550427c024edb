/**
 * Runs in Node before the workerd suites: hands the shipped default model (model/) to them, as
 * base64, when it exists. The shipped-model suite skips itself without one.
 * EDGEGUARD_MODEL_DIR points it at another folder (e.g. a candidate model before it ships).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const MODEL_DIR = `${resolve(process.env.EDGEGUARD_MODEL_DIR ?? fileURLToPath(new URL('../../model', import.meta.url)))}/`;

export default function setup(project: TestProject): void {
  const onnx = `${MODEL_DIR}model.onnx`;
  const manifest = `${MODEL_DIR}manifest.json`;
  project.provide(
    'shippedModel',
    existsSync(onnx) && existsSync(manifest)
      ? { onnx: readFileSync(onnx).toString('base64'), manifest: readFileSync(manifest, 'utf8') }
      : null,
  );
}
