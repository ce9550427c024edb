/** Shared by the worker suites: seeding the R2 bucket and the API keys, and calling the worker. */
import { env, exports } from 'cloudflare:workers';
import { createApp } from '../../src/app.ts';
import { KeyRecordSchema, generateApiKey, hashApiKey, keyRecordKey, type KeyRecord } from '../../src/auth/key-record.ts';
import { createKeyStore, type KeyStoreOptions } from '../../src/auth/key-store.ts';
import { createRegistry, type RegistryOptions } from '../../src/guard/registry.ts';
import { forward } from '../../pipeline/train/student.ts';
import { featurize } from '../../src/guard/featurize.ts';
import { MODEL_KEYS, type Manifest } from '../../src/guard/manifest.ts';
import type { FixtureModel } from '../fixtures/fixture-model.ts';

/** Scratch bindings that test/worker/vitest.config.ts adds, one per suite that empties its own. */
export const scratch = env as unknown as {
  REGISTRY_TEST: R2Bucket;
  GUARD_TEST: R2Bucket;
  SHIPPED_TEST: R2Bucket;
  SWAP_TEST: R2Bucket;
  FAULTS_TEST: R2Bucket;
  FUZZ_TEST: R2Bucket;
  CHAT_TEST: R2Bucket;
  UPSTREAM_TEST: R2Bucket;
  FAIL_MODE_TEST: R2Bucket;
  CASCADE_TEST: R2Bucket;
  /** A fake Workers AI (Llama Guard 3 only); see vitest.config.ts. */
  AI_TEST: { run(model: string, inputs: unknown): Promise<unknown> };
  STREAM_TEST: R2Bucket;
  REMOTE_TEST: R2Bucket;
  AUTH_KEYS_TEST: KVNamespace;
  LIMIT_KEYS_TEST: KVNamespace;
  POLICY_KEYS_TEST: KVNamespace;
  FUZZ_KEYS_TEST: KVNamespace;
  PIN_KEYS_TEST: KVNamespace;
  FAIL_MODE_KEYS_TEST: KVNamespace;
  CASCADE_KEYS_TEST: KVNamespace;
  REMOTE_KEYS_TEST: KVNamespace;
  /** 3 requests a minute. */
  RATE_LIMIT_TEST: RateLimit;
  /** 3 a minute, for failed key attempts. */
  AUTH_FAILURES_TEST: RateLimit;
};

/** Puts a model's files and (unless `pointer: false`) the pointer naming it. */
export async function seedModel(
  bucket: R2Bucket,
  model: { bytes: Uint8Array; manifest: Manifest } | FixtureModel,
  options: { pointer?: boolean } = {},
): Promise<void> {
  const { version } = model.manifest;
  await bucket.put(MODEL_KEYS.model(version), model.bytes);
  await bucket.put(MODEL_KEYS.manifest(version), JSON.stringify(model.manifest));
  if (options.pointer ?? true) await bucket.put(MODEL_KEYS.pointer, JSON.stringify({ version }));
}

/** Deletes every object of the bucket. */
export async function emptyBucket(bucket: R2Bucket): Promise<void> {
  const listed = await bucket.list();
  await Promise.all(listed.objects.map((o) => bucket.delete(o.key)));
}

/** A request to the worker under test (src/index.ts), through its own fetch handler. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://edgeguard.test${path}`, init);
}

/** A JSON POST to the worker under test. */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON error of a response. */
export async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

/**
 * What the fixture must score, from the plain TypeScript forward pass (pipeline/train/student.ts):
 * each label's maximum over the text's windows. ORT has to agree to float precision.
 */
export function expectedScores(fixture: FixtureModel, prompt: string, response: string | null = null): Record<string, number> {
  const best = fixture.manifest.labels.map(() => -Infinity);
  for (const window of featurize(prompt, response, fixture.manifest.featurizer)) {
    const { scores } = forward(fixture.weights, window);
    scores.forEach((s, i) => (best[i] = Math.max(best[i]!, s)));
  }
  return Object.fromEntries(fixture.manifest.labels.map((label, i) => [label, best[i]!]));
}

/**
 * Stores a new API key's record (as `pipeline keys create` does) and returns the key.
 * @param record settings and fields to set (default: standard tier, the model's thresholds, closed)
 * @param key the key (default: a new random one)
 */
export async function addKey(
  kv: KVNamespace,
  name: string,
  record: Partial<Omit<KeyRecord, 'schemaVersion' | 'name'>> = {},
  key = generateApiKey(),
): Promise<string> {
  const stored = KeyRecordSchema.parse({ schemaVersion: 1, name, createdAt: new Date().toISOString(), ...record });
  await kv.put(keyRecordKey(await hashApiKey(key)), JSON.stringify(stored));
  return key;
}

/** Deletes every key of a KV namespace. */
export async function emptyNamespace(kv: KVNamespace): Promise<void> {
  const { keys } = await kv.list();
  await Promise.all(keys.map((k) => kv.delete(k.name)));
}

export interface TestAppOptions {
  /** Bindings and vars over the test env (e.g. `API_KEYS`, `MODELS`, `CORS_ORIGINS`). */
  bindings?: Record<string, unknown>;
  registry?: RegistryOptions;
  /** Default: no caching (records or misses), so every request sees KV as it is. */
  keys?: KeyStoreOptions;
}

/**
 * The worker's app on a fresh registry and key store, called with `app.request` and an execution
 * context whose `waitUntil` work `settle()` awaits.
 */
export function createTestApp(options: TestAppOptions = {}) {
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
  const registry = createRegistry(options.registry);
  const app = createApp({ registry, keys: createKeyStore({ modeTtlMs: 0, recordTtlMs: 0, missTtlMs: 0, ...options.keys }) });
  const bindings = { ...env, ...options.bindings };
  const request = async (path: string, init: RequestInit = {}): Promise<Response> => app.request(path, init, bindings, ctx);
  return {
    registry,
    request,
    /** A JSON POST; a string body is sent as is. */
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (path: string, headers: Record<string, string> = {}) => request(path, { headers }),
    /** Awaits every `waitUntil` so far. */
    settle: async () => {
      while (pending.length) await Promise.all(pending.splice(0));
    },
  };
}

/** `Authorization: Bearer <key>`. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
