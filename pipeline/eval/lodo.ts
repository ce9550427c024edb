/**
 * Leave-one-dataset-out evaluation: for each fold, train without its data sets and score them with
 * the model that never saw them. Folds group a few unrelated sets (a request set, a content set, a
 * benign set, a pair set) so the whole table costs five trainings instead of twenty; sets that
 * share requests (jailbreakbench and its artifacts, coconot-contrast and coconot-pref) are held
 * out together so nothing leaks.
 */
import type { SourceMetrics } from './evaluate.ts';

export const DEFAULT_FOLDS: string[][] = [
  ['advbench', 'toxigen', 'coconot-contrast', 'pairs-coconot-pref', 'pairs-gptfuzz-labeled', 'declare-lab-dangerousqa'],
  ['harmbench-behaviors', 'ethos-binary', 'jailbreak_llms-jailbreak-prompts', 'gpteacher-roleplay', 'pairs-gpteacher-roleplay'],
  ['jailbreakbench', 'pairs-jailbreakbench-artifacts', 'jailbreak_llms-forbidden-questions', 'vicomtech-stormfront-hate', 'arena-hard-auto', 'pairs-arena-hard-auto'],
  ['declare-lab-catqa-en', 'declare-lab-harmfulqa', 'davidson-hate-offensive', 'mt-bench', 'vicuna-bench'],
  ['coconot-original-eval', 'advbench-harmful-strings', 'p3-t0-prompts', 'self-instruct-seed', 'self-instruct-user-oriented', 'pairs-self-instruct'],
];

/** The harmful-request sets whose AUPRC and recall the targets are stated on. */
export const HARMFUL_REQUEST_SETS = [
  'advbench', 'harmbench-behaviors', 'jailbreakbench', 'jailbreak_llms-forbidden-questions', 'declare-lab-catqa-en',
  'declare-lab-dangerousqa', 'declare-lab-harmfulqa', 'coconot-original-eval',
];

export interface LodoRow extends SourceMetrics {
  source: string;
  fold: number;
}

export interface LodoSummary {
  /** Mean AUPRC over harmful-request sets (each against the benign reference). */
  meanRequestAuprc: number | null;
  /** Mean recall at the fold's shipped threshold over harmful-request sets. */
  meanRequestRecall: number | null;
  /** False-positive rate on alpaca-eval, averaged over folds (never trained on). */
  alpacaFpr: number | null;
  coconotContrastFpr: number | null;
}

const mean = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 1e4) / 1e4 : null;
};

/** Headline figures of a LODO table. */
export function summarize(rows: LodoRow[], alpacaFprPerFold: (number | null)[]): LodoSummary {
  const requests = rows.filter((r) => HARMFUL_REQUEST_SETS.includes(r.source));
  return {
    meanRequestAuprc: mean(requests.map((r) => r.auprc)),
    meanRequestRecall: mean(requests.map((r) => r.recall)),
    alpacaFpr: mean(alpacaFprPerFold),
    coconotContrastFpr: rows.find((r) => r.source === 'coconot-contrast')?.fpr ?? null,
  };
}

/** The LODO table as markdown. */
export function lodoMarkdown(rows: LodoRow[], summary: LodoSummary, alpacaFprPerFold: (number | null)[]): string {
  const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));
  const lines = [
    '# Leave-one-dataset-out evaluation',
    '',
    'Each set is scored by a model trained without it (and without the other sets of its fold).',
    'Harmful-only sets are ranked against alpaca-eval (benign, never trained on) for AUPRC.',
    '',
    `- mean AUPRC over harmful-request sets: **${num(summary.meanRequestAuprc)}** (target >= 0.90)`,
    `- mean recall over harmful-request sets at each fold model's threshold: **${pct(summary.meanRequestRecall)}** (target >= 90%)`,
    `- false-positive rate on alpaca-eval: **${pct(summary.alpacaFpr)}** (target <= 3%; per fold: ${alpacaFprPerFold.map(pct).join(', ')})`,
    `- false-positive rate on coconot-contrast: **${pct(summary.coconotContrastFpr)}** (target <= 10%)`,
    '',
    '| fold | held-out set | rows | harmful | benign | AUPRC | precision | recall | F1 | FPR |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.fold} | ${r.source} | ${r.rows} | ${r.harmful} | ${r.benign} | ${num(r.auprc)} | ${pct(r.precision)} | ${pct(r.recall)} | ${num(r.f1)} | ${pct(r.fpr)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The compact form of a LODO table that a manifest records (`metrics.lodo`). */
export function lodoRecord(folds: string[][], summary: LodoSummary, alpacaFprPerFold: (number | null)[], rows: LodoRow[]) {
  return {
    folds,
    summary,
    alpacaFprPerFold,
    rows: rows.map(({ source, fold, rows: n, harmful, benign, auprc, auprcAgainst, precision, recall, f1, fpr }) => ({
      source, fold, rows: n, harmful, benign, auprc, auprcAgainst, precision, recall, f1, fpr,
    })),
  };
}
