/**
 * Llama Guard 3's hazard categories (S1-S14, the MLCommons taxonomy, as its chat template names
 * them) and how each maps to our category labels: one table for the pipeline's `label` stage and
 * the worker's cascade, so a teacher verdict means the same labels in training and at the edge.
 * S6 (specialised advice), S8 (intellectual property) and S13 (elections) have no counterpart
 * among our labels: a text flagged only for them is still unsafe by the teacher, with no category.
 */
import { CATEGORY_LABELS, type CategoryLabel } from '../guard/labels.ts';

/** Codes and names exactly as the Llama Guard 3 prompt lists them. */
export const LLAMA_GUARD_3_CATEGORIES = [
  ['S1', 'Violent Crimes'],
  ['S2', 'Non-Violent Crimes'],
  ['S3', 'Sex Crimes'],
  ['S4', 'Child Exploitation'],
  ['S5', 'Defamation'],
  ['S6', 'Specialized Advice'],
  ['S7', 'Privacy'],
  ['S8', 'Intellectual Property'],
  ['S9', 'Indiscriminate Weapons'],
  ['S10', 'Hate'],
  ['S11', 'Self-Harm'],
  ['S12', 'Sexual Content'],
  ['S13', 'Elections'],
  ['S14', 'Code Interpreter Abuse'],
] as const;

export type HazardCode = (typeof LLAMA_GUARD_3_CATEGORIES)[number][0];

/** Our labels for each Llama Guard 3 code: the one place this mapping lives (typed by CATEGORY_LABELS). */
export const HAZARD_TO_LABELS: Record<HazardCode, readonly CategoryLabel[]> = {
  S1: ['violence', 'illicit', 'illicit/violent'], // violent crimes
  S2: ['illicit'], // non-violent crimes
  S3: ['sexual'], // sex-related crimes
  S4: ['sexual', 'sexual/minors'], // child sexual exploitation
  S5: ['harassment'], // defamation
  S6: [], // specialized advice
  S7: ['illicit'], // privacy
  S8: [], // intellectual property
  S9: ['violence', 'illicit', 'illicit/violent'], // indiscriminate weapons
  S10: ['hate'], // hate
  S11: ['self-harm'], // suicide & self-harm
  S12: ['sexual'], // sexual content
  S13: [], // elections
  S14: ['illicit'], // code interpreter abuse
};

const CODES = new Set<string>(LLAMA_GUARD_3_CATEGORIES.map(([code]) => code));

const BY_NAME = new Map<string, HazardCode>(LLAMA_GUARD_3_CATEGORIES.map(([code, name]) => [name.toLowerCase(), code]));

/**
 * The hazard codes in a verdict's category line ("S1,S10", "S1, S10", or category names as some
 * APIs send them), deduplicated, in order; unknown entries are dropped.
 * @example parseHazardCodes('S10,s1') // ['S10', 'S1']
 * @example parseHazardCodes('Violent Crimes, Hate') // ['S1', 'S10']
 */
export function parseHazardCodes(text: string): HazardCode[] {
  const found: string[] = [];
  for (const part of text.split(/[,\n]/)) {
    const entry = part.trim().replace(/\.$/, '');
    const codes = entry.toUpperCase().match(/\bS\d{1,2}\b/g);
    if (codes) found.push(...codes);
    else if (BY_NAME.has(entry.toLowerCase())) found.push(BY_NAME.get(entry.toLowerCase())!);
  }
  return [...new Set(found)].filter((code): code is HazardCode => CODES.has(code));
}

/**
 * Our labels for a set of hazard codes, deduplicated, in the order of CATEGORY_LABELS.
 * @example labelsOf(['S10', 'S2']) // ['hate', 'illicit']
 */
export function labelsOf(codes: readonly HazardCode[]): CategoryLabel[] {
  const labels = new Set(codes.flatMap((code) => HAZARD_TO_LABELS[code]));
  return CATEGORY_LABELS.filter((label) => labels.has(label));
}
