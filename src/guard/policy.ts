/**
 * The policy a request is decided under: the model's thresholds (manifest), overridden by the
 * caller's API key settings where it sets them, and the key's fail mode. Pure, no HTTP.
 */
import type { Manifest } from './manifest.ts';

/**
 * When a caller's texts go to the teacher (if the worker has one): `band` when the student's
 * P(harmful) falls in ESCALATE_BAND, `never` (latency first), `always` (judgement first, e.g. a
 * batch customer).
 */
export const ESCALATE_MODES = ['band', 'never', 'always'] as const;
/** One of ESCALATE_MODES. */
export type EscalateMode = (typeof ESCALATE_MODES)[number];

/** What a response reports as the decision rule it applied to the raw scores. */
export interface AppliedPolicy {
  /** The threshold on P(harmful) (the first label). */
  threshold: number;
  /** The threshold of every other label of the model. */
  categoryThresholds: Record<string, number>;
  /** What happens when no model can score: `closed` = 503, `open` = unscored 200. */
  failMode: 'open' | 'closed';
  /** `key` when the API key sets a threshold the model has, else `model`. */
  source: 'key' | 'model';
}

/** The policy reported when no model scored the request (failing open): only what the key says. */
export interface UnscoredPolicy {
  threshold: number | null;
  categoryThresholds: Record<string, number>;
  failMode: 'open';
  source: 'key' | 'model';
}

/**
 * What a caller may set of a policy: an API key's settings (auth/key-record.ts, which match this
 * shape), or a guard()'s options. A field left undefined keeps the model's value (`closed` for
 * the fail mode).
 */
export interface PolicySettings {
  threshold?: number;
  categoryThresholds?: Record<string, number>;
  failMode?: 'open' | 'closed';
  /** When texts go to the teacher (default `band`); without a teacher configured, nothing. */
  escalate?: EscalateMode;
}

/**
 * The policy for one model and one caller: a label's threshold is the key's, else the
 * manifest's `categoryThresholds` entry, else the overall threshold (the key's, else the
 * manifest's). Key thresholds for labels the model does not have are ignored.
 * @param settings the API key's settings (or guard()'s options); `null` when the API runs open
 * @example applyPolicy(manifest, { threshold: 0.8, categoryThresholds: {}, failMode: 'open' })
 */
export function applyPolicy(manifest: Manifest, settings: PolicySettings | null | undefined): AppliedPolicy {
  const [, ...labels] = manifest.labels;
  const own = settings?.categoryThresholds ?? {};
  const threshold = settings?.threshold ?? manifest.threshold;
  const categoryThresholds = Object.fromEntries(
    labels.map((label) => [label, own[label] ?? manifest.categoryThresholds[label] ?? threshold]),
  );
  const fromKey = settings?.threshold !== undefined || labels.some((label) => own[label] !== undefined);
  return { threshold, categoryThresholds, failMode: settings?.failMode ?? 'closed', source: fromKey ? 'key' : 'model' };
}

/** The policy of a request no model scored: the caller's own thresholds, if any. */
export function unscoredPolicy(settings: PolicySettings | null | undefined): UnscoredPolicy {
  const own = settings?.categoryThresholds ?? {};
  const fromKey = settings?.threshold !== undefined || Object.keys(own).length > 0;
  return { threshold: settings?.threshold ?? null, categoryThresholds: own, failMode: 'open', source: fromKey ? 'key' : 'model' };
}
