/**
 * `pipeline keys create|list|revoke` through the CLI entry, on both targets: the local KV that
 * `wrangler dev` serves (a temporary persistence directory, opened through Miniflare as the CLI
 * does) and Cloudflare's KV REST API (a fake on loopback). Key handling is checked once on the
 * fake (each local command starts a workerd); the local target proves the records land where the
 * worker reads them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyRecordSchema, hashApiKey, keyRecordKey } from '../../src/auth/key-record.ts';
import { createLocalKv } from '../../pipeline/keys/local-kv.ts';
import { kvNamespaceId } from '../../pipeline/keys/target.ts';
import { cli } from './helpers/cli.ts';
import { startFakeCloudflareKv, type FakeCloudflareKv } from './helpers/fake-cloudflare-kv.ts';

const KEY_LINE = /^\s+(egk_[A-Za-z0-9_-]{43})$/m;
const keyOf = (stdout: string) => KEY_LINE.exec(stdout)?.[1];

describe('keys on the local KV of wrangler dev', () => {
  let persistTo: string;
  const local = () => ['--local', '--persist-to', persistTo];

  beforeAll(async () => {
    persistTo = join(await mkdtemp(join(tmpdir(), 'edgeguard-keys-')), 'state');
  });

  afterAll(async () => {
    await rm(join(persistTo, '..'), { recursive: true, force: true });
  });

  it('creates a key, prints it once, and stores only its SHA-256 under the namespace wrangler dev reads', async () => {
    const created = await cli(
      'keys',
      'create',
      'acme',
      '--threshold',
      '0.8',
      '--category-thresholds',
      'hate=0.4,violence=0.6',
      '--fail-mode',
      'open',
      '--rate-limit',
      'high',
      ...local(),
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const key = keyOf(created.stdout)!;
    expect(key).toBeDefined();
    expect(created.stdout).toContain('This is the only time the key is shown');
    // wrangler dev keeps a binding without an id under the binding name
    expect(kvNamespaceId()).toBeUndefined();
    const kv = await createLocalKv({ persistTo, namespaceId: 'API_KEYS', binding: 'API_KEYS' });
    try {
      const names = await kv.list('');
      expect(names).toEqual([keyRecordKey(await hashApiKey(key))]);
      const stored = await kv.get(names[0]!);
      expect(stored).not.toContain(key);
      expect(KeyRecordSchema.parse(JSON.parse(stored!))).toMatchObject({
        name: 'acme',
        rateLimit: 'high',
        threshold: 0.8,
        categoryThresholds: { hate: 0.4, violence: 0.6 },
        failMode: 'open',
      });
    } finally {
      await kv.close();
    }
  });

  it('lists, revokes and purges the key', async () => {
    const listed = await cli('keys', 'list', ...local());
    expect(listed.stdout).toMatch(
      /acme\s+[0-9a-f]{16}\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+active: rate limit high, threshold 0.8 \(hate=0.4,violence=0.6\), fail mode open/,
    );
    expect((await cli('keys', 'revoke', 'acme', ...local())).stdout).toMatch(/^revoked API key 'acme' \([0-9a-f]{16}\)/);
    expect((await cli('keys', 'list', ...local())).stdout).toMatch(/acme\s+\S+\s+\S+ \S+\s+revoked /);
    const purged = await cli('keys', 'revoke', 'acme', '--purge', ...local());
    expect(purged.stdout).toContain('no key is left: the API is open to anyone again');
    expect((await cli('keys', 'list', ...local())).stdout).toMatch(
      /^no API keys in local KV namespace API_KEYS .*: the API is open to anyone$/m,
    );
  });
});

describe('keys on Cloudflare KV (REST API)', () => {
  let fake: FakeCloudflareKv;

  beforeEach(async () => {
    fake = await startFakeCloudflareKv({ pageSize: 2 });
    vi.stubEnv('CLOUDFLARE_API_BASE_URL', fake.base);
    vi.stubEnv('CLOUDFLARE_API_TOKEN', fake.token);
    vi.stubEnv('CLOUDFLARE_ACCOUNT_ID', fake.accountId);
    vi.stubEnv('API_KEYS_NAMESPACE_ID', fake.namespaceId);
  });

  afterEach(async () => {
    vi.unstubAllEnvs();
    await fake.stop();
  });

  it('creates a key whose record the worker can find by the printed key digest', async () => {
    const created = await cli('keys', 'create', 'acme');
    expect(created.code).toBe(0);
    const key = keyOf(created.stdout)!;
    const record = fake.values.get(keyRecordKey(await hashApiKey(key)));
    expect(KeyRecordSchema.parse(JSON.parse(record!))).toMatchObject({
      schemaVersion: 1,
      name: 'acme',
      rateLimit: 'standard',
      failMode: 'closed',
      categoryThresholds: {},
    });
    expect([...fake.values.values()].join()).not.toContain(key);
  });

  it('stores the versions a key may pin (--pin-versions) and lists them', async () => {
    const created = await cli('keys', 'create', 'partner', '--pin-versions', 'preview-1, 20261129-77b0e412');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/fail mode closed, may pin preview-1,20261129-77b0e412\n/);
    const record = fake.values.get(keyRecordKey(await hashApiKey(keyOf(created.stdout)!)));
    expect(KeyRecordSchema.parse(JSON.parse(record!)).pinVersions).toEqual(['preview-1', '20261129-77b0e412']);
    expect((await cli('keys', 'list')).stdout).toMatch(/partner .* active: .*, may pin preview-1,20261129-77b0e412\n/);
    expect(JSON.parse((await cli('keys', 'list', '--json')).stdout).keys[0]).toMatchObject({
      name: 'partner',
      pinVersions: ['preview-1', '20261129-77b0e412'],
    });
  });

  it("stores when the key's texts go to the teacher (--escalate) and lists it", async () => {
    const created = await cli('keys', 'create', 'batch', '--escalate', 'always');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/fail mode closed, escalates always\n/);
    const record = fake.values.get(keyRecordKey(await hashApiKey(keyOf(created.stdout)!)));
    expect(KeyRecordSchema.parse(JSON.parse(record!)).escalate).toBe('always');
    expect(JSON.parse((await cli('keys', 'list', '--json')).stdout).keys[0]).toMatchObject({ name: 'batch', escalate: 'always' });
  });

  it('refuses an --escalate that is not band, never or always, writing nothing', async () => {
    const result = await cli('keys', 'create', 'batch', '--escalate', 'sometimes');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: --escalate: /);
    expect(fake.values.size).toBe(0);
  });

  it('reads a record written before the cascade as escalating the band', () => {
    const old = {
      schemaVersion: 1,
      name: 'old',
      createdAt: '2026-01-01T00:00:00.000Z',
      rateLimit: 'standard',
      categoryThresholds: {},
      failMode: 'closed',
    };
    expect(KeyRecordSchema.parse(old).escalate).toBe('band');
  });

  it('refuses a pin that is not a version name, writing nothing', async () => {
    const result = await cli('keys', 'create', 'partner', '--pin-versions', 'ok,../current.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: --pin-versions: each version: letters, digits/);
    expect(fake.values.size).toBe(0);
  });

  it('prints the key in JSON with --json', async () => {
    const { stdout } = await cli('keys', 'create', 'acme', '--json');
    const out = JSON.parse(stdout) as { key: string; id: string; record: { name: string } };
    expect(out.key).toMatch(/^egk_/);
    expect(out.id).toBe((await hashApiKey(out.key)).slice(0, 16));
    expect(out.record.name).toBe('acme');
  });

  it('makes a different key each time', async () => {
    const a = keyOf((await cli('keys', 'create', 'a')).stdout);
    const b = keyOf((await cli('keys', 'create', 'b')).stdout);
    expect(a).not.toBe(b);
  });

  it('refuses a second active key with the same name', async () => {
    await cli('keys', 'create', 'acme');
    const again = await cli('keys', 'create', 'acme');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^edgeguard: an active key named 'acme' exists in Cloudflare KV namespace/);
  });

  it('lists every key across pages, never printing a key', async () => {
    const keys = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) keys.push(keyOf((await cli('keys', 'create', name)).stdout)!);
    const { stdout } = await cli('keys', 'list', '--json');
    const listed = JSON.parse(stdout) as { open: boolean; keys: { name: string }[] };
    expect(listed.open).toBe(false);
    expect(listed.keys.map((k) => k.name).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(fake.requests.filter((r) => r.endsWith('/keys')).length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(stdout).not.toContain(key);
  });

  it('revokes a key by name: the record stays, marked', async () => {
    const key = keyOf((await cli('keys', 'create', 'acme')).stdout)!;
    expect((await cli('keys', 'revoke', 'acme')).code).toBe(0);
    const record = JSON.parse(fake.values.get(keyRecordKey(await hashApiKey(key)))!) as { revokedAt?: string };
    expect(record.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('lets a revoked name be used for a new key', async () => {
    await cli('keys', 'create', 'acme');
    await cli('keys', 'revoke', 'acme');
    expect((await cli('keys', 'create', 'acme')).code).toBe(0);
  });

  it('refuses to revoke a key that does not exist, or twice', async () => {
    expect((await cli('keys', 'revoke', 'ghost')).stderr).toMatch(/^edgeguard: no key named 'ghost' in Cloudflare KV namespace/);
    await cli('keys', 'create', 'acme');
    await cli('keys', 'revoke', 'acme');
    expect((await cli('keys', 'revoke', 'acme')).stderr).toBe(
      "edgeguard: the key 'acme' is already revoked (--purge deletes its record)\n",
    );
  });

  it('deletes the record with --purge', async () => {
    await cli('keys', 'create', 'acme');
    await cli('keys', 'create', 'other');
    const purged = await cli('keys', 'revoke', 'acme', '--purge');
    expect(purged.stdout).not.toContain('open to anyone');
    expect(fake.values.size).toBe(1);
  });

  it('names Cloudflare error code and message when the token is refused', async () => {
    vi.stubEnv('CLOUDFLARE_API_TOKEN', 'wrong');
    const result = await cli('keys', 'list');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('edgeguard: Cloudflare KV: listing keys answered 403 [10000] Authentication error\n');
  });

  it.each([
    ['CLOUDFLARE_API_TOKEN', /needs CLOUDFLARE_API_TOKEN in the environment/],
    ['CLOUDFLARE_ACCOUNT_ID', /needs CLOUDFLARE_ACCOUNT_ID/],
    ['API_KEYS_NAMESPACE_ID', /needs the namespace id/],
  ])('explains a missing %s in one line', async (variable, message) => {
    vi.stubEnv(variable, '');
    const result = await cli('keys', 'list');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses bad flags in one line', async () => {
    expect((await cli('keys', 'create', 'acme', '--threshold', '1.5')).stderr).toMatch(/^edgeguard: --threshold: /);
    expect((await cli('keys', 'create', 'acme', '--rate-limit', 'huge')).stderr).toMatch(/^edgeguard: --rate-limit: /);
    expect((await cli('keys', 'create', 'acme', '--category-thresholds', 'hate')).stderr).toMatch(/'hate' is not label=threshold/);
    expect((await cli('keys', 'create', 'no spaces')).stderr).toMatch(/^edgeguard: <name>: /);
    expect((await cli('keys', 'create', 'acme', '--treshold', '0.5')).stderr).toMatch(/^edgeguard: unknown flag --treshold/);
    expect((await cli('keys', 'list', '--local', '--namespace-id', fake.namespaceId)).stderr).toMatch(
      /--local takes no --account-id or --namespace-id/,
    );
    expect(fake.values.size).toBe(0);
  });
});

describe('wrangler.toml', () => {
  it('reads the id of the API_KEYS binding when one is set', () => {
    const toml =
      '[[kv_namespaces]]\nbinding = "OTHER"\nid = "1"\n\n[[kv_namespaces]]\nbinding = "API_KEYS"\nid = "abc"\n\n[[ratelimits]]\nname = "X"\n';
    expect(kvNamespaceId('API_KEYS', toml)).toBe('abc');
    expect(kvNamespaceId('API_KEYS', '[[kv_namespaces]]\nbinding = "API_KEYS"\n\n[vars]\nid = "not-this"\n')).toBeUndefined();
  });
});
