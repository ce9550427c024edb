/**
 * API keys as stored in the `API_KEYS` KV namespace: the one hand-off format between the CLI that
 * writes them (`pipeline keys`) and the worker that reads them. A key is never stored: its record
 * sits under `key:<sha256 of the key, hex>`, so the worker finds a presented key by its digest and
 * never compares secrets. Web Crypto only, so the same module runs in Node and in workerd.
 */
import { z } from 'zod';
import { VERSION_PATTERN } from '../guard/manifest.ts';
import { ESCALATE_MODES } from '../guard/policy.ts';

export { ESCALATE_MODES };

/** KV key prefix of every key record; a listing under it tells whether any key is configured. */
export const KEY_RECORD_PREFIX = 'key:';

/** Prefix of the keys `generateApiKey()` makes, so secret scanners and people can recognise one. */
export const API_KEY_PREFIX = 'egk_';

/**
 * Rate-limit tiers: each names a `[[ratelimits]]` binding of wrangler.toml, except `unlimited`
 * (for trusted internal callers: no limit at all).
 */
export const RATE_LIMIT_TIERS = ['standard', 'high', 'unlimited'] as const;
/** One of RATE_LIMIT_TIERS. */
export type RateLimitTier = (typeof RATE_LIMIT_TIERS)[number];

/** A key's name: it goes into every request's log line, so plain characters only. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const Probability = z.number().min(0).max(1);

/** The per-key policy: what the worker applies to this key's requests instead of the model's defaults. */
export const KeySettingsSchema = z.object({
  /** Requests per minute, by tier (src/README.md, "Rate limits"). */
  rateLimit: z.enum(RATE_LIMIT_TIERS).default('standard'),
  /** Flag when P(harmful) >= this; default the model manifest's `threshold`. */
  threshold: Probability.optional(),
  /** Per-label thresholds (model labels, e.g. `hate`); a label not named keeps the model's. */
  categoryThresholds: z.record(z.string().min(1).max(64), Probability).default({}),
  /**
   * When no model can score a request: `closed` answers 503 `model_unavailable`, `open` answers
   * 200 with unscored, unflagged results and the reason.
   */
  failMode: z.enum(['open', 'closed']).default('closed'),
  /**
   * Model versions this key may pin besides those the registry's pointers name (current, its
   * history, the candidate): e.g. a deployed version a partner tests before it is promoted.
   */
  pinVersions: z.array(z.string().regex(VERSION_PATTERN, 'letters, digits, ".", "_" or "-", at most 64')).max(50).optional(),
  /**
   * When this key's texts go to the worker's teacher, if it has one: `band` (the student's score
   * in ESCALATE_BAND), `never`, or `always`. Records from before the cascade read as `band`.
   */
  escalate: z.enum(ESCALATE_MODES).default('band'),
});
export type KeySettings = z.infer<typeof KeySettingsSchema>;

/** One key's record, the JSON value under `key:<digest>`. */
export const KeyRecordSchema = KeySettingsSchema.extend({
  schemaVersion: z.literal(1),
  /** Who holds the key; unique among the keys that are not revoked. Logged with each request. */
  name: z.string().regex(KEY_NAME_PATTERN, 'letters, digits, ".", "_" or "-", at most 64'),
  createdAt: z.iso.datetime(),
  /** Set by `keys revoke`: the key no longer authenticates, and the API stays closed. */
  revokedAt: z.iso.datetime().optional(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The lowercase hex SHA-256 of a key: how it is stored and looked up. A key carries 256 random
 * bits, so a fast hash is enough (no salt or slow KDF: there is no password to brute-force).
 * @example await hashApiKey('egk_...') // '3f2a...' (64 hex digits)
 */
export async function hashApiKey(key: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
}

/** The KV key of the record of the key with this digest. */
export const keyRecordKey = (digest: string): string => `${KEY_RECORD_PREFIX}${digest}`;

/**
 * A new random key: `egk_` and 32 random bytes in base64url (43 characters).
 * @example generateApiKey() // 'egk_Vq3...'
 */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return API_KEY_PREFIX + base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
