/**
 * The deploy gate: the least a model's own eval metrics must show before it may be uploaded.
 * The metrics are those `pipeline eval --update-manifest` records in the manifest
 * (`metrics.eval.sources[<source>].auprc` / `.fpr`); the gate comes from a JSON file and flags.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Manifest } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';

/**
 * A gate file, e.g. `{ "minAuprc": 0.9, "maxFpr": 0.05, "sources": ["harmbench", "xstest"] }`.
 * Without `sources`, every source that has the metric is held to it.
 */
export const GateSchema = z.strictObject({
  minAuprc: z.number().min(0).max(1).optional(),
  maxFpr: z.number().min(0).max(1).optional(),
  sources: z.array(z.string().min(1)).min(1).optional(),
});
export type Gate = z.infer<typeof GateSchema>;

const SourceMetricsSchema = z.looseObject({
  auprc: z.number().nullable().optional(),
  fpr: z.number().nullable().optional(),
  recall: z.number().nullable().optional(),
  seenInTraining: z.boolean().optional(),
});
const EvalMetricsSchema = z.looseObject({
  eval: z.looseObject({ sources: z.record(z.string(), SourceMetricsSchema) }),
});
type SourceMetrics = z.infer<typeof SourceMetricsSchema>;

/** The per-source eval metrics of a manifest, or `null` when it records none (or not in eval's shape). */
export function evalSources(manifest: Manifest): Record<string, SourceMetrics> | null {
  const parsed = EvalMetricsSchema.safeParse(manifest.metrics);
  return parsed.success ? parsed.data.eval.sources : null;
}

/**
 * The gate from `file` (if any) with the flags on top.
 * @throws CLIError when the file is missing, not JSON or not a gate
 */
export async function loadGate(file: string | undefined, flags: Gate): Promise<Gate> {
  let fromFile: Gate = {};
  if (file) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new CLIError(`--gate ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not JSON'}`);
    }
    const parsed = GateSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CLIError(`--gate ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    fromFile = parsed.data;
  }
  const merged = { ...fromFile };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) Object.assign(merged, { [key]: value });
  return merged;
}

/** Whether the gate asks for anything at all. */
export const gateIsSet = (gate: Gate) => gate.minAuprc !== undefined || gate.maxFpr !== undefined;

/** A gate in words, e.g. "AUPRC >= 0.9, FPR <= 0.05 on every source". */
export function describeGate(gate: Gate): string {
  const parts = [gate.minAuprc !== undefined && `AUPRC >= ${gate.minAuprc}`, gate.maxFpr !== undefined && `FPR <= ${gate.maxFpr}`].filter(
    Boolean,
  );
  return `${parts.join(', ')} on ${gate.sources ? gate.sources.join(', ') : 'every source'}`;
}

/**
 * Where the manifest misses the gate, one reason per miss; empty when it passes (or no gate is set).
 * @example checkGate(manifest, { minAuprc: 0.9 }) // ["xstest: AUPRC 0.812 < 0.9"]
 */
export function checkGate(manifest: Manifest, gate: Gate): string[] {
  if (!gateIsSet(gate)) return [];
  const sources = evalSources(manifest);
  if (!sources)
    return [`the manifest of ${manifest.version} records no eval metrics (run \`pipeline eval --model <dir> --update-manifest\`)`];
  const names = gate.sources ?? Object.keys(sources);
  const misses: string[] = [];
  const checked = { auprc: 0, fpr: 0 };
  for (const name of names) {
    const metrics = sources[name];
    if (!metrics) {
      misses.push(`${name}: no eval metrics for this source`);
      continue;
    }
    if (gate.minAuprc !== undefined && typeof metrics.auprc === 'number') {
      checked.auprc++;
      if (metrics.auprc < gate.minAuprc) misses.push(`${name}: AUPRC ${metrics.auprc} < ${gate.minAuprc}`);
    }
    if (gate.maxFpr !== undefined && typeof metrics.fpr === 'number') {
      checked.fpr++;
      if (metrics.fpr > gate.maxFpr) misses.push(`${name}: FPR ${metrics.fpr} > ${gate.maxFpr}`);
    }
  }
  if (gate.minAuprc !== undefined && checked.auprc === 0) misses.push('no source has an AUPRC to hold to --min-auprc');
  if (gate.maxFpr !== undefined && checked.fpr === 0) misses.push('no source has an FPR to hold to --max-fpr');
  return misses;
}

/** The numbers `list` shows for a version: the worst AUPRC and the worst FPR over its eval sources. */
export function headlineMetrics(manifest: Manifest): { minAuprc: number | null; maxFpr: number | null } {
  const sources = Object.values(evalSources(manifest) ?? {});
  const auprcs = sources.map((s) => s.auprc).filter((x): x is number => typeof x === 'number');
  const fprs = sources.map((s) => s.fpr).filter((x): x is number => typeof x === 'number');
  return { minAuprc: auprcs.length ? Math.min(...auprcs) : null, maxFpr: fprs.length ? Math.max(...fprs) : null };
}
