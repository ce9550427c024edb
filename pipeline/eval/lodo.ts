/**
 * Leave-one-dataset-out evaluation: for each fold, train without its data sets and score them with
 * the model that never saw them. Each fold holds out a few unrelated sets of every kind (harmful
 * requests, user content, prompt+response pairs, benign instructions, one of our own written
 * sets) so the whole table costs five trainings instead of forty, and every kind of text and every
 * category is measured on data its model never saw; sets that share requests (jailbreakbench and
 * its artifacts, coconot-contrast and coconot-pref) are held out together so nothing leaks.
 */
import type { CategoryFigure, categorySummary, KindSummary } from './heldout.ts';
import type { SourceMetrics } from './evaluate.ts';

export const DEFAULT_FOLDS: string[][] = [
  [
    'advbench',
    'declare-lab-dangerousqa',
    'toxigen',
    'jigsaw-toxic-comments',
    'pairs-gptfuzz-labeled',
    'coconot-contrast',
    'pairs-coconot-pref',
    'edgeguard-sexual',
  ],
  [
    'harmbench-behaviors',
    'ethos-binary',
    'hatexplain',
    'pairs-dices',
    'jailbreak_llms-jailbreak-prompts',
    'gpteacher-roleplay',
    'pairs-gpteacher-roleplay',
    'edgeguard-self-harm',
  ],
  [
    'jailbreakbench',
    'pairs-jailbreakbench-artifacts',
    'jailbreak_llms-forbidden-questions',
    'convabuse',
    'vicomtech-stormfront-hate',
    'arena-hard-auto',
    'pairs-arena-hard-auto',
    'edgeguard-violence',
  ],
  [
    'declare-lab-catqa-en',
    'declare-lab-harmfulqa',
    'davidson-hate-offensive',
    'pairs-diasafety',
    'mt-bench',
    'vicuna-bench',
    'edgeguard-harassment',
    'edgeguard-pairs',
  ],
  [
    'coconot-original-eval',
    'advbench-harmful-strings',
    'p3-t0-prompts',
    'self-instruct-seed',
    'self-instruct-user-oriented',
    'pairs-self-instruct',
    'edgeguard-chatbot',
  ],
];

/** The harmful-request sets whose AUPRC and recall the targets are stated on. */
export const HARMFUL_REQUEST_SETS = [
  'advbench',
  'harmbench-behaviors',
  'jailbreakbench',
  'jailbreak_llms-forbidden-questions',
  'declare-lab-catqa-en',
  'declare-lab-dangerousqa',
  'declare-lab-harmfulqa',
  'coconot-original-eval',
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

/** What the held-out rows say beyond the per-set table (see heldout.ts). */
export interface HeldOutReport {
  operatingPoint: KindSummary & { rule: string; threshold: number; categoryThresholds: Record<string, number> };
  categories: ReturnType<typeof categorySummary>;
  figures: CategoryFigure[];
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3));

function heldOutMarkdown({ operatingPoint: op, categories, figures }: HeldOutReport): string[] {
  return [
    '',
    `## Operating point chosen on held-out rows (${op.rule})`,
    '',
    `- threshold: **${op.threshold.toFixed(3)}**`,
    `- harmful requests: AUPRC ${num(op.requestAuprc)} (against alpaca-eval), recall **${pct(op.requestRecall)}**`,
    `- user content: AUPRC **${num(op.contentAuprc)}**, recall ${pct(op.contentRecall)}, FPR ${pct(op.contentFpr)}`,
    `- prompt+response pairs: AUPRC **${num(op.pairAuprc)}**, recall ${pct(op.pairRecall)}, FPR ${pct(op.pairFpr)}`,
    `- alpaca-eval FPR **${pct(op.alpacaFpr)}**; coconot-contrast (look-alikes) FPR ${pct(op.lookAlikeFpr)}`,
    `- thresholds of the reported categories (each flags at most 0.2% of the held-out benign rows, never under 0.7): ${Object.entries(
      op.categoryThresholds,
    )
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ')}`,
    '',
    '## Categories on held-out sets',
    '',
    "ROC-AUC of the category's own output and of the overall score: its rows against the benign rows",
    'held out in the same fold (as a benchmark measures a category against all its benign rows);',
    'per category weighted by rows over the held-out sets with at least 20 of them. The last column',
    "is harder: against the set's own benign rows only, for our written sets the look-alike twins.",
    '',
    '| category | sets | rows | ROC-AUC (own output) | worst set | ROC-AUC (overall score) |',
    '|---|---:|---:|---:|---:|---:|',
    ...Object.entries(categories).map(
      ([c, s]) => `| ${c} | ${s.sets} | ${s.positives} | ${num(s.headAuc)} | ${num(s.worstHeadAuc)} | ${num(s.overallAuc)} |`,
    ),
    '',
    '| fold | held-out set | category | rows | benign rows | ROC-AUC | AUPRC | ROC-AUC (overall) | ROC-AUC (own benign rows) |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|',
    ...figures.map(
      (f) =>
        `| ${f.fold} | ${f.source} | ${f.category} | ${f.positives} | ${f.negatives} | ${num(f.headAuc)} | ${num(f.headAuprc)} | ${num(f.overallAuc)} | ${num(f.ownBenignAuc)} |`,
    ),
  ];
}

/** The LODO table as markdown. */
export function lodoMarkdown(rows: LodoRow[], summary: LodoSummary, alpacaFprPerFold: (number | null)[], heldOut?: HeldOutReport): string {
  const lines = [
    '# Leave-one-dataset-out evaluation',
    '',
    'Each set is scored by a model trained without it (and without the other sets of its fold).',
    'Harmful-only sets are ranked against alpaca-eval (benign, never trained on) for AUPRC.',
    '',
    `- mean AUPRC over harmful-request sets: **${num(summary.meanRequestAuprc)}**`,
    `- mean recall over harmful-request sets at each fold model's own threshold: **${pct(summary.meanRequestRecall)}**`,
    `- false-positive rate on alpaca-eval at each fold model's own threshold: **${pct(summary.alpacaFpr)}** (per fold: ${alpacaFprPerFold.map(pct).join(', ')})`,
    `- false-positive rate on coconot-contrast: **${pct(summary.coconotContrastFpr)}**`,
    ...(heldOut ? heldOutMarkdown(heldOut) : []),
    '',
    "## Per held-out set, at each fold model's own threshold",
    '',
    '| fold | held-out set | rows | harmful | benign | AUPRC | precision | recall | F1 | FPR |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.fold} | ${r.source} | ${r.rows} | ${r.harmful} | ${r.benign} | ${num(r.auprc)} | ${pct(r.precision)} | ${pct(r.recall)} | ${num(r.f1)} | ${pct(r.fpr)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The compact form of a LODO table that a manifest records (`metrics.lodo`). */
export function lodoRecord(
  folds: string[][],
  summary: LodoSummary,
  alpacaFprPerFold: (number | null)[],
  rows: LodoRow[],
  heldOut?: HeldOutReport,
) {
  return {
    folds,
    summary,
    alpacaFprPerFold,
    rows: rows.map(({ source, fold, rows: n, harmful, benign, auprc, auprcAgainst, precision, recall, f1, fpr }) => ({
      source,
      fold,
      rows: n,
      harmful,
      benign,
      auprc,
      auprcAgainst,
      precision,
      recall,
      f1,
      fpr,
    })),
    ...(heldOut ? { operatingPoint: heldOut.operatingPoint, categories: heldOut.categories, categoryFigures: heldOut.figures } : {}),
  };
}
