/**
 * What each public data set in ../shared/data means to the guard, and how we use it: its licence,
 * whether it may train the shipped model, which rows to drop because their label does not mean
 * "harmful" (e.g. "forbidden" questions that only ask for legal or financial advice), and which of
 * our categories its upstream category implies. Labels differ in meaning between sets (requests,
 * user content, benign instructions, judged responses), so this is written per set, by hand.
 */
import type { CategoryLabel } from './categories.ts';
import type { Example } from './schema.ts';

export type SourceKind = 'request' | 'jailbreak' | 'content' | 'benign' | 'pair';

export interface SourcePolicy {
  name: string;
  license: string;
  kind: SourceKind;
  /** 'train': may train the shipped model; 'eval-only': measured, never trained on. */
  use: 'train' | 'eval-only';
  /** Rows to keep (default: all). */
  keep?: (row: Example) => boolean;
  /** Our categories for a harmful row, from its upstream category; null when unknown. */
  categories?: (row: Example) => CategoryLabel[] | null;
  /** How split groups are formed; default: the prompt, so pairs sharing a request stay together. */
  group?: (row: Example) => string;
}

const head = (row: Example) => (row.category ?? '').split(' | ')[0]!.trim();

function byHead(table: Record<string, CategoryLabel[] | null>) {
  return (row: Example) => table[head(row)] ?? null;
}

/** Our own request sets (pipeline/data/seed): each row names its own categories. */
function ownRequests(name: string): SourcePolicy {
  return {
    name, license: 'Apache-2.0 (this project)', kind: 'request', use: 'train',
    categories: (row) => (row.categories as CategoryLabel[] | null) ?? null,
  };
}

/** JailbreakBench's categories (its behaviours and its judged artifacts share them). */
const JAILBREAKBENCH_CATEGORIES = byHead({
  'Harassment/Discrimination': ['harassment'], 'Malware/Hacking': ['illicit'], 'Physical harm': ['violence'],
  'Economic harm': ['illicit'], 'Fraud/Deception': ['illicit'], 'Sexual/Adult content': ['sexual'], Privacy: ['illicit'],
});

const NOT_HARMFUL_POLICIES = new Set([
  'Legal Opinion', 'Financial Advice', 'Health Consultation', 'Political Lobbying', 'Gov Decision',
  'Political Campaigning', 'Tailored Financial Advice',
]);

/** Every data set of ../shared/data the pipeline knows, by file name without `.jsonl`. */
export const SOURCES: Record<string, SourcePolicy> = {
  advbench: { name: 'advbench', license: 'MIT', kind: 'request', use: 'train' },
  'harmbench-behaviors': {
    name: 'harmbench-behaviors', license: 'MIT', kind: 'request', use: 'train',
    categories: byHead({
      chemical_biological: ['illicit', 'violence'], illegal: ['illicit'], cybercrime_intrusion: ['illicit'],
      harassment_bullying: ['harassment'], misinformation_disinformation: null, harmful: null, copyright: null,
    }),
  },
  jailbreakbench: {
    name: 'jailbreakbench', license: 'MIT', kind: 'request', use: 'train',
    categories: JAILBREAKBENCH_CATEGORIES,
  },
  'jailbreak_llms-forbidden-questions': {
    name: 'jailbreak_llms-forbidden-questions', license: 'MIT', kind: 'request', use: 'train',
    keep: (row) => !NOT_HARMFUL_POLICIES.has(head(row)),
    categories: byHead({
      'Illegal Activity': ['illicit'], 'Hate Speech': ['hate'], Malware: ['illicit'], 'Physical Harm': ['violence'],
      'Economic Harm': ['illicit'], Fraud: ['illicit'], Pornography: ['sexual'], 'Privacy Violence': ['illicit'],
    }),
  },
  'declare-lab-catqa-en': {
    name: 'declare-lab-catqa-en', license: 'Apache-2.0', kind: 'request', use: 'train',
    keep: (row) => !NOT_HARMFUL_POLICIES.has(head(row)),
    categories: byHead({
      'Illegal Activity': ['illicit'], 'Child Abuse': ['violence'], 'Hate/Harass/Violence': ['hate', 'harassment', 'violence'],
      'Malware Viruses': ['illicit'], 'Physical Harm': ['violence'], 'Economic Harm': ['illicit'],
      'Fraud/Deception': ['illicit'], 'Adult Content': ['sexual'], 'Privacy Violation Activity': ['illicit'],
    }),
  },
  'declare-lab-dangerousqa': { name: 'declare-lab-dangerousqa', license: 'Apache-2.0', kind: 'request', use: 'train' },
  'declare-lab-harmfulqa': { name: 'declare-lab-harmfulqa', license: 'Apache-2.0', kind: 'request', use: 'train' },
  'coconot-original-eval': {
    name: 'coconot-original-eval', license: 'MIT', kind: 'request', use: 'train',
    categories: (row) => (row.category?.includes('privacy') ? ['illicit'] : null),
  },
  'jailbreak_llms-jailbreak-prompts': { name: 'jailbreak_llms-jailbreak-prompts', license: 'MIT', kind: 'jailbreak', use: 'train' },
  // Red-team openers, many harmless alone: too noisy to train on, reported for information only.
  'hh-rlhf-harmless-base-test-prompts': { name: 'hh-rlhf-harmless-base-test-prompts', license: 'MIT', kind: 'request', use: 'eval-only' },
  'advbench-harmful-strings': { name: 'advbench-harmful-strings', license: 'MIT', kind: 'content', use: 'train' },
  toxigen: { name: 'toxigen', license: 'MIT + CDLA-Permissive-2.0', kind: 'content', use: 'train', categories: () => ['hate'] },
  'ethos-binary': {
    name: 'ethos-binary', license: 'GPL-3.0', kind: 'content', use: 'train',
    categories: (row) => (row.category?.includes('violence') ? ['hate', 'violence'] : ['hate']),
  },
  'vicomtech-stormfront-hate': { name: 'vicomtech-stormfront-hate', license: 'CC BY-SA 3.0 ES', kind: 'content', use: 'train', categories: () => ['hate'] },
  'davidson-hate-offensive': {
    name: 'davidson-hate-offensive', license: 'MIT', kind: 'content', use: 'train',
    categories: (row) => (row.category?.startsWith('hate') ? ['hate'] : ['harassment']),
  },
  'alpaca-eval': { name: 'alpaca-eval', license: 'CC BY-NC 4.0 (data)', kind: 'benign', use: 'eval-only' },
  'arena-hard-auto': { name: 'arena-hard-auto', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'coconot-contrast': { name: 'coconot-contrast', license: 'MIT', kind: 'benign', use: 'train' },
  'gpteacher-codegen': { name: 'gpteacher-codegen', license: 'MIT', kind: 'benign', use: 'train' },
  'gpteacher-roleplay': { name: 'gpteacher-roleplay', license: 'MIT', kind: 'benign', use: 'train' },
  'gsm8k-questions': { name: 'gsm8k-questions', license: 'MIT', kind: 'benign', use: 'train' },
  'mt-bench': { name: 'mt-bench', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'p3-t0-prompts': { name: 'p3-t0-prompts', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'self-instruct-seed': { name: 'self-instruct-seed', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'self-instruct-user-oriented': { name: 'self-instruct-user-oriented', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'vicuna-bench': { name: 'vicuna-bench', license: 'Apache-2.0', kind: 'benign', use: 'train' },
  'pairs-gptfuzz-labeled': {
    name: 'pairs-gptfuzz-labeled', license: 'MIT', kind: 'pair', use: 'train',
    // Few questions recur with many responses: split by question, never by row.
    group: (row) => `gptfuzz:${(row.category ?? '').split(' | ')[1] ?? row.prompt}`,
  },
  'pairs-jailbreakbench-artifacts': {
    name: 'pairs-jailbreakbench-artifacts', license: 'MIT', kind: 'pair', use: 'train',
    group: (row) => `jbb:${(row.category ?? '').split(' | ').slice(0, 2).join(' | ')}`,
    categories: JAILBREAKBENCH_CATEGORIES,
  },
  'pairs-arena-hard-auto': { name: 'pairs-arena-hard-auto', license: 'Apache-2.0', kind: 'pair', use: 'train' },
  'pairs-coconot-pref': { name: 'pairs-coconot-pref', license: 'MIT', kind: 'pair', use: 'train' },
  'pairs-fastchat-reference': { name: 'pairs-fastchat-reference', license: 'Apache-2.0', kind: 'pair', use: 'train' },
  'pairs-gpteacher-codegen': { name: 'pairs-gpteacher-codegen', license: 'MIT', kind: 'pair', use: 'train' },
  'pairs-gpteacher-roleplay': { name: 'pairs-gpteacher-roleplay', license: 'MIT', kind: 'pair', use: 'train' },
  'pairs-gsm8k': { name: 'pairs-gsm8k', license: 'MIT', kind: 'pair', use: 'train' },
  'pairs-self-instruct': { name: 'pairs-self-instruct', license: 'Apache-2.0', kind: 'pair', use: 'train' },
  'edgeguard-benign-chat': { name: 'edgeguard-benign-chat', license: 'Apache-2.0 (this project)', kind: 'benign', use: 'train' },
  'edgeguard-seed': ownRequests('edgeguard-seed'),
  'edgeguard-contrast': ownRequests('edgeguard-contrast'),
  'edgeguard-requests': ownRequests('edgeguard-requests'),
  'edgeguard-augmented': ownRequests('edgeguard-augmented'),
  'edgeguard-contrast-augmented': ownRequests('edgeguard-contrast-augmented'),
};

/** The policy of a file; files unknown to us (a user's own data) are trained on as they are. */
export function policyFor(fileStem: string): SourcePolicy {
  return SOURCES[fileStem] ?? { name: fileStem, license: 'unknown (user data)', kind: 'request', use: 'train' };
}
