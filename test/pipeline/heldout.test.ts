import { describe, expect, it } from 'vitest';
import {
  categoryFigures,
  chooseCategoryThresholds,
  chooseHeldOutThreshold,
  flags,
  kindSummary,
  type HeldOutRow,
} from '../../pipeline/eval/heldout.ts';

const LABELS = ['harmful', 'hate'];
let id = 0;
const row = (source: string, kind: HeldOutRow['kind'], label: 0 | 1, harmful: number, hate = 0, fold = 1): HeldOutRow => ({
  id: `r${id++}`,
  source,
  fold,
  kind,
  label,
  categories: label ? ['hate'] : [],
  scores: [harmful, hate],
});
// alpaca-eval: 100 benign instructions scored 0.00 .. 0.99
const alpaca = Array.from({ length: 100 }, (_, i) => row('alpaca-eval', 'benign', 0, i / 100));
// a harmful-only request set: 10 rows scored 0.55 .. 0.955
const requests = Array.from({ length: 10 }, (_, i) => row('advbench', 'request', 1, 0.55 + i * 0.045));
// user content: 20 hateful rows (overall 0.6, hate head 0.9) and 20 benign ones (0.1, hate 0.2)
const content = [
  ...Array.from({ length: 20 }, () => row('toxigen', 'content', 1, 0.6, 0.9)),
  ...Array.from({ length: 20 }, () => row('toxigen', 'content', 0, 0.1, 0.2)),
];
const rows = [...alpaca, ...requests, ...content];

describe('the held-out operating point', () => {
  it('flags a row by P(harmful) or by a reported category', () => {
    const decision = { threshold: 0.7, categoryThresholds: { hate: 0.8 } };
    expect(flags(decision, LABELS, row('x', 'content', 1, 0.6, 0.9))).toBe(true);
    expect(flags(decision, LABELS, row('x', 'content', 1, 0.6, 0.5))).toBe(false);
    expect(flags({ threshold: 0.7, categoryThresholds: {} }, LABELS, row('x', 'content', 1, 0.6, 0.99))).toBe(false);
  });

  it('picks the lowest threshold that keeps alpaca-eval under the FPR budget, categories included', () => {
    // 3% of 100 may be flagged: from 0.965 up, P(harmful) flags 0.97, 0.98 and 0.99 only
    expect(chooseHeldOutThreshold('heldout-fpr:0.03', rows, {}, LABELS)).toBe(0.965);
    // a hate threshold that flags the two lowest alpaca rows leaves room for one more
    const hateFlagsTwo = [...alpaca.slice(0, 2).map((r) => ({ ...r, scores: [r.scores[0]!, 0.95] })), ...rows.slice(2)];
    expect(chooseHeldOutThreshold('heldout-fpr:0.03', hateFlagsTwo, { hate: 0.9 }, LABELS)).toBe(0.985);
  });

  it('picks the threshold that flags the asked share of held-out harmful requests', () => {
    expect(chooseHeldOutThreshold('heldout-recall:0.8', rows)).toBeCloseTo(0.55 + 2 * 0.045, 10);
  });

  it('sets each reported category where it flags at most 0.2% of held-out benign rows, never under 0.7', () => {
    const benign = Array.from({ length: 1000 }, (_, i) => row('toxigen', 'content', 0, 0.1, i < 4 ? 0.9 : 0.1));
    const out = chooseCategoryThresholds(benign, LABELS, ['hate']);
    // two of 1,000 may be flagged: the third highest benign hate score (0.9) must not be
    expect(out.hate).toBe(0.905);
    expect(chooseCategoryThresholds(benign, LABELS, [])).toEqual({});
    expect(chooseCategoryThresholds(content, LABELS, ['hate']).hate).toBe(0.7);
    expect(chooseCategoryThresholds(benign, LABELS, ['hate'], { maxFpr: 0.01, floor: 0.5 }).hate).toBe(0.5);
  });

  it('sums up each kind of text, with harmful-only sets ranked against alpaca-eval', () => {
    const summary = kindSummary(rows, { threshold: 0.9, categoryThresholds: { hate: 0.8 } }, LABELS);
    expect(summary.alpacaFpr).toBe(0.1);
    expect(summary.requestRecall).toBe(0.2);
    // the hate head flags every hateful row and no benign one
    expect(summary.contentRecall).toBe(1);
    expect(summary.contentFpr).toBe(0);
    expect(summary.contentAuprc).toBe(1);
  });

  it("measures a category against the fold's held-out benign rows and, apart, against the set's own", () => {
    const [figure] = categoryFigures(rows, LABELS);
    expect(figure).toMatchObject({ source: 'toxigen', category: 'hate', positives: 20, negatives: 120, headAuc: 1, ownBenignAuc: null });
  });
});
