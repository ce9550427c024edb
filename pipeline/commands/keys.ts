/**
 * `keys create|list|revoke`: the API keys the worker accepts, in its `API_KEYS` KV namespace,
 * locally (`--local`, the KV of `npm start`) or on Cloudflare. A key is printed once, at create;
 * only its SHA-256 is stored.
 */
import { defineCommand } from 'citty';
import { z } from 'zod';
import { ESCALATE_MODES, KEY_NAME_PATTERN, RATE_LIMIT_TIERS, type KeyRecord } from '../../src/auth/key-record.ts';
import { VERSION_PATTERN } from '../../src/guard/manifest.ts';
import { NAME_RULE, listFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { createKey, readKeys, revokeKey } from '../keys/records.ts';
import { KvTargetFlags, withKeyNamespace } from '../keys/target.ts';

const Name = z.string().regex(KEY_NAME_PATTERN, NAME_RULE);
const Probability = z.coerce.number().min(0).max(1);

/** `hate=0.4,violence=0.6` -> { hate: 0.4, violence: 0.6 } */
const CategoryThresholds = listFlag().transform((pairs, ctx) => {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const [label, value, ...rest] = pair.split('=');
    const threshold = Number(value);
    if (!label || value === undefined || rest.length > 0 || value.trim() === '' || !(threshold >= 0 && threshold <= 1)) {
      ctx.addIssue({ code: 'custom', message: `'${pair}' is not label=threshold with a threshold in [0, 1]` });
      return z.NEVER;
    }
    out[label.trim()] = threshold;
  }
  return out;
});

/** `a,b` -> ['a', 'b'], each a model version name. */
const PinVersions = listFlag().pipe(
  z
    .array(z.string().regex(VERSION_PATTERN, `each version: ${NAME_RULE}`))
    .min(1)
    .max(50),
);

const CreateFlags = z
  .object({
    name: Name.describe('who holds the key (logged with each request): letters, digits, ".", "_", "-"'),
    rateLimit: z
      .enum(RATE_LIMIT_TIERS)
      .default('standard')
      .describe(`rate-limit tier: ${RATE_LIMIT_TIERS.join(', ')}`),
    threshold: Probability.optional().describe("flag at P(harmful) >= this (default: the model manifest's threshold)"),
    categoryThresholds: CategoryThresholds.optional().describe("per-label thresholds, e.g. hate=0.4,violence=0.6 (default: the model's)"),
    failMode: z.enum(['open', 'closed']).default('closed').describe('when no model can score: closed (503) or open (an unscored 200)'),
    pinVersions: PinVersions.optional().describe(
      'model versions this key may pin besides current, its history and the candidate, e.g. 20261129-77b0e412,preview-2',
    ),
    escalate: z
      .enum(ESCALATE_MODES)
      .default('band')
      .describe("when this key's texts go to the worker's teacher: band (the student's uncertain band), never, always"),
    json: z.boolean().default(false).describe('print JSON (the key included) instead of text'),
  })
  .extend(KvTargetFlags.shape);

const describePolicy = (r: KeyRecord) => {
  const categories = Object.entries(r.categoryThresholds)
    .map(([label, t]) => `${label}=${t}`)
    .join(',');
  const pins = r.pinVersions?.length ? `, may pin ${r.pinVersions.join(',')}` : '';
  const escalate = r.escalate === 'band' ? '' : `, escalates ${r.escalate}`;
  return `rate limit ${r.rateLimit}, threshold ${r.threshold ?? 'model'}${categories ? ` (${categories})` : ''}, fail mode ${r.failMode}${pins}${escalate}`;
};

const create = defineFlagCommand({
  meta: { name: 'create', description: 'Create an API key and print it (once: only its SHA-256 is stored).' },
  flags: CreateFlags,
  positional: ['name'],
  async run(flags) {
    await withKeyNamespace(flags, async (kv) => {
      const settings = {
        rateLimit: flags.rateLimit,
        threshold: flags.threshold,
        categoryThresholds: flags.categoryThresholds ?? {},
        failMode: flags.failMode,
        pinVersions: flags.pinVersions,
        escalate: flags.escalate,
      };
      const { key, digest, record } = await createKey(kv, flags.name, settings);
      if (flags.json) {
        console.log(JSON.stringify({ key, id: digest.slice(0, 16), where: kv.where, record }, null, 2));
        return;
      }
      console.log(`created API key '${record.name}' in ${kv.where}: ${describePolicy(record)}`);
      console.log(`\n  ${key}\n`);
      console.log('This is the only time the key is shown: store it now. Clients send it as `Authorization: Bearer <key>`.');
    });
  },
});

const list = defineFlagCommand({
  meta: { name: 'list', description: 'List API keys: name, id, created, status, rate limit, policy (never the keys).' },
  flags: z.object({ json: z.boolean().default(false).describe('print JSON instead of a table') }).extend(KvTargetFlags.shape),
  async run(flags) {
    await withKeyNamespace(flags, async (kv) => {
      const keys = await readKeys(kv);
      const rows = keys.map(({ digest, record, problem }) => ({ id: digest.slice(0, 16), problem, ...(record ?? {}) }));
      if (flags.json) {
        console.log(JSON.stringify({ where: kv.where, open: keys.length === 0, keys: rows }, null, 2));
        return;
      }
      if (keys.length === 0) {
        console.log(`no API keys in ${kv.where}: the API is open to anyone`);
        return;
      }
      const active = keys.filter((k) => k.record && !k.record.revokedAt).length;
      console.log(`API keys in ${kv.where} (${active} active; the API requires a key):`);
      const width = Math.max(4, ...keys.map((k) => k.record?.name.length ?? 0));
      console.log(`  ${'name'.padEnd(width)}  ${'id'.padEnd(16)}  ${'created'.padEnd(16)}  status`);
      const sorted = [...keys].sort((a, b) => (a.record?.createdAt ?? '').localeCompare(b.record?.createdAt ?? ''));
      for (const { digest, record, problem } of sorted) {
        if (!record) {
          console.log(`  ${'?'.padEnd(width)}  ${digest.slice(0, 16)}  ${''.padEnd(16)}  BROKEN: ${problem}`);
          continue;
        }
        const status = record.revokedAt
          ? `revoked ${record.revokedAt.slice(0, 16).replace('T', ' ')}`
          : `active: ${describePolicy(record)}`;
        console.log(
          `  ${record.name.padEnd(width)}  ${digest.slice(0, 16)}  ${record.createdAt.slice(0, 16).replace('T', ' ')}  ${status}`,
        );
      }
    });
  },
});

const RevokeFlags = z
  .object({
    name: Name.describe('the key to revoke (see `keys list`)'),
    purge: z.boolean().default(false).describe('delete the record instead of marking it revoked (deleting the last one opens the API)'),
  })
  .extend(KvTargetFlags.shape);

const revoke = defineFlagCommand({
  meta: { name: 'revoke', description: 'Revoke an API key: it stops working within about a minute (KV and the worker cache).' },
  flags: RevokeFlags,
  positional: ['name'],
  async run(flags) {
    await withKeyNamespace(flags, async (kv) => {
      const { changed, left } = await revokeKey(kv, flags.name, { purge: flags.purge });
      const ids = changed.map((k) => k.digest.slice(0, 16)).join(', ');
      console.log(`${flags.purge ? 'deleted' : 'revoked'} API key '${flags.name}' (${ids}) in ${kv.where}`);
      if (flags.purge && left === 0) console.log('no key is left: the API is open to anyone again');
    });
  },
});

export default defineCommand({
  meta: { name: 'keys', description: 'Create, list and revoke the API keys the worker accepts (KV namespace API_KEYS).' },
  subCommands: { create, list, revoke },
});
