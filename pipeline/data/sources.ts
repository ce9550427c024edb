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
  /**
   * A soft label (P(harmful) as a teacher would give it) where the upstream label is graded: the
   * DICES raters' share, Jigsaw's plain rudeness, HateXplain's and Davidson's "offensive". With a
   * soft label the row trains on 0.5 x CE + 0.5 x KL, as teacher-labelled rows do; its class for
   * sampling and metrics is soft >= 0.5 unless `label` is set too. Return null to keep the row as is.
   */
  soft?: (row: Example) => { label: 0 | 1 | null; score: number } | null;
  /**
   * Whether the source marks the fine labels ("self-harm/intent", "harassment/threatening"...)
   * wherever they apply, so that a fine label it leaves out is a 0; elsewhere a fine label is
   * learned only where it is named, and unknown where just its broad label is.
   */
  fine?: boolean;
}

const head = (row: Example) => (row.category ?? '').split(' | ')[0]!.trim();

function byHead(table: Record<string, CategoryLabel[] | null>) {
  return (row: Example) => table[head(row)] ?? null;
}

/** Our own request sets (pipeline/data/seed): each row names its own categories. */
function ownRequests(name: string, options: { fine?: boolean; kind?: SourceKind } = {}): SourcePolicy {
  return {
    name,
    license: 'Apache-2.0 (this project)',
    kind: options.kind ?? 'request',
    use: 'train',
    categories: (row) => (row.categories as CategoryLabel[] | null) ?? null,
    fine: options.fine ?? false,
  };
}

/** Labels named in a comma-separated upstream category field, mapped through `table`. */
function labelsFrom(field: string, table: Record<string, CategoryLabel[]>): CategoryLabel[] {
  const out = new Set<CategoryLabel>();
  for (const part of field.split(/[,;]/)) for (const label of table[part.trim()] ?? []) out.add(label);
  return [...out];
}

// Jigsaw's six flags. Plain rudeness ("toxic") and profanity ("obscene") are not flagged by an
// OpenAI-style policy on their own; insults, threats and identity hate are.
const JIGSAW: Record<string, CategoryLabel[]> = {
  severe_toxic: ['harassment'],
  insult: ['harassment'],
  threat: ['harassment', 'harassment/threatening', 'violence'],
  identity_hate: ['hate'],
};
const jigsawFlags = (row: Example) => (row.category ?? '').split(' | ')[0]!;

// ConvAbuse's abuse types; the rest ("intellectual", "general", "none") are harassment alone.
const CONVABUSE: Record<string, CategoryLabel[]> = {
  sex_harassment: ['sexual'],
  sexist: ['hate'],
  racist: ['hate'],
  homophobic: ['hate'],
  transphobic: ['hate'],
  ableist: ['hate'],
};
const convabuseTypes = (row: Example) => /type: ([^;|]*)/.exec(row.category ?? '')?.[1] ?? '';

// DiaSafety's unsafe-reply kinds (Unauthorized Expertise has safe rows only here). A reply that
// insults the user is harassment and one that states a bias about a group is hate; agreeing with a
// toxic context or ignoring a risk is unsafe in context but not content of any category.
const DIASAFETY: Record<string, CategoryLabel[] | null> = {
  'Offending User': ['harassment'],
  'Toxicity Agreement': null,
  'Biased Opinion': ['hate'],
  'Risk Ignorance': null,
};

/** JailbreakBench's categories (its behaviours and its judged artifacts share them). */
const JAILBREAKBENCH_CATEGORIES = byHead({
  'Harassment/Discrimination': ['harassment'],
  'Malware/Hacking': ['illicit'],
  'Physical harm': ['violence'],
  'Economic harm': ['illicit'],
  'Fraud/Deception': ['illicit'],
  'Sexual/Adult content': ['sexual'],
  Privacy: ['illicit'],
});

const NOT_HARMFUL_POLICIES = new Set([
  'Legal Opinion',
  'Financial Advice',
  'Health Consultation',
  'Political Lobbying',
  'Gov Decision',
  'Political Campaigning',
  'Tailored Financial Advice',
]);

/** Every data set of ../shared/data the pipeline knows, by file name without `.jsonl`. */
export const SOURCES: Record<string, SourcePolicy> = {
  advbench: { name: 'advbench', license: 'MIT', kind: 'request', use: 'train' },
  'harmbench-behaviors': {
    name: 'harmbench-behaviors',
    license: 'MIT',
    kind: 'request',
    use: 'train',
    // its 100 copyright behaviours ("Generate the lyrics of ...") are an LLM's policy, not a safety
    // guard's: neither trained on as harmful nor counted as missed
    keep: (row) => head(row) !== 'copyright',
    categories: byHead({
      chemical_biological: ['illicit', 'violence'],
      illegal: ['illicit'],
      cybercrime_intrusion: ['illicit'],
      harassment_bullying: ['harassment'],
      misinformation_disinformation: null,
      harmful: null,
    }),
  },
  jailbreakbench: {
    name: 'jailbreakbench',
    license: 'MIT',
    kind: 'request',
    use: 'train',
    categories: JAILBREAKBENCH_CATEGORIES,
  },
  'jailbreak_llms-forbidden-questions': {
    name: 'jailbreak_llms-forbidden-questions',
    license: 'MIT',
    kind: 'request',
    use: 'train',
    keep: (row) => !NOT_HARMFUL_POLICIES.has(head(row)),
    categories: byHead({
      'Illegal Activity': ['illicit'],
      'Hate Speech': ['hate'],
      Malware: ['illicit'],
      'Physical Harm': ['violence'],
      'Economic Harm': ['illicit'],
      Fraud: ['illicit'],
      Pornography: ['sexual'],
      'Privacy Violence': ['illicit'],
    }),
  },
  'declare-lab-catqa-en': {
    name: 'declare-lab-catqa-en',
    license: 'Apache-2.0',
    kind: 'request',
    use: 'train',
    keep: (row) => !NOT_HARMFUL_POLICIES.has(head(row)),
    categories: byHead({
      'Illegal Activity': ['illicit'],
      'Child Abuse': ['violence'],
      'Hate/Harass/Violence': ['hate', 'harassment', 'violence'],
      'Malware Viruses': ['illicit'],
      'Physical Harm': ['violence'],
      'Economic Harm': ['illicit'],
      'Fraud/Deception': ['illicit'],
      'Adult Content': ['sexual'],
      'Privacy Violation Activity': ['illicit'],
    }),
  },
  'declare-lab-dangerousqa': { name: 'declare-lab-dangerousqa', license: 'Apache-2.0', kind: 'request', use: 'train' },
  'declare-lab-harmfulqa': { name: 'declare-lab-harmfulqa', license: 'Apache-2.0', kind: 'request', use: 'train' },
  'coconot-original-eval': {
    name: 'coconot-original-eval',
    license: 'MIT',
    kind: 'request',
    use: 'train',
    categories: (row) => (row.category?.includes('privacy') ? ['illicit'] : null),
  },
  'jailbreak_llms-jailbreak-prompts': { name: 'jailbreak_llms-jailbreak-prompts', license: 'MIT', kind: 'jailbreak', use: 'train' },
  // Red-team openers, many harmless alone: too noisy to train on, reported for information only.
  'hh-rlhf-harmless-base-test-prompts': { name: 'hh-rlhf-harmless-base-test-prompts', license: 'MIT', kind: 'request', use: 'eval-only' },
  'advbench-harmful-strings': { name: 'advbench-harmful-strings', license: 'MIT', kind: 'content', use: 'train' },
  toxigen: { name: 'toxigen', license: 'MIT + CDLA-Permissive-2.0', kind: 'content', use: 'train', categories: () => ['hate'] },
  'ethos-binary': {
    name: 'ethos-binary',
    license: 'GPL-3.0',
    kind: 'content',
    use: 'train',
    categories: (row) => (row.category?.includes('violence') ? ['hate', 'violence'] : ['hate']),
  },
  'vicomtech-stormfront-hate': {
    name: 'vicomtech-stormfront-hate',
    license: 'CC BY-SA 3.0 ES',
    kind: 'content',
    use: 'train',
    categories: () => ['hate'],
  },
  'davidson-hate-offensive': {
    name: 'davidson-hate-offensive',
    license: 'MIT',
    kind: 'content',
    use: 'train',
    categories: (row) => (row.category?.startsWith('hate') ? ['hate'] : ['harassment']),
    // "offensive" tweets are mostly crude but allowed talk: a teacher would call most of them safe
    soft: (row) => (row.category?.startsWith('offensive') ? { label: null, score: 0.3 } : null),
  },
  'jigsaw-toxic-comments': {
    name: 'jigsaw-toxic-comments',
    license: 'CC0 (labels); comment text CC BY-SA 3.0',
    kind: 'content',
    use: 'train',
    categories: (row) => labelsFrom(jigsawFlags(row), JIGSAW),
    soft: (row) => (row.label === 1 && labelsFrom(jigsawFlags(row), JIGSAW).length === 0 ? { label: null, score: 0.3 } : null),
    fine: true,
  },
  hatexplain: {
    name: 'hatexplain',
    license: 'GPL-3.0 (MBIB copy; MIT upstream)',
    kind: 'content',
    use: 'train',
    categories: (row) => (row.category?.startsWith('hatespeech') ? ['hate'] : ['harassment']),
    soft: (row) => (row.category?.startsWith('offensive') ? { label: null, score: 0.4 } : null),
  },
  convabuse: {
    name: 'convabuse',
    license: 'CC BY 4.0',
    kind: 'content',
    use: 'train',
    categories: (row) => ['harassment', ...labelsFrom(convabuseTypes(row), CONVABUSE)],
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
    name: 'pairs-gptfuzz-labeled',
    license: 'MIT',
    kind: 'pair',
    use: 'train',
    // Few questions recur with many responses: split by question, never by row.
    group: (row) => `gptfuzz:${(row.category ?? '').split(' | ')[1] ?? row.prompt}`,
  },
  'pairs-jailbreakbench-artifacts': {
    name: 'pairs-jailbreakbench-artifacts',
    license: 'MIT',
    kind: 'pair',
    use: 'train',
    group: (row) => `jbb:${(row.category ?? '').split(' | ').slice(0, 2).join(' | ')}`,
    categories: JAILBREAKBENCH_CATEGORIES,
  },
  'pairs-diasafety': {
    name: 'pairs-diasafety',
    license: 'Apache-2.0',
    kind: 'pair',
    use: 'train',
    categories: (row) => DIASAFETY[head(row)] ?? null,
  },
  'pairs-dices': {
    name: 'pairs-dices',
    license: 'CC BY 4.0',
    kind: 'pair',
    use: 'train',
    // the raters' share is the soft label; DICES-350's expert gold, where there is one, the hard one
    soft: (row) => {
      const share = /crowd unsafe ([\d.]+)/.exec(row.category ?? '')?.[1];
      if (share === undefined) return null;
      const expert = /expert unsafe=(Yes|No)/.exec(row.category ?? '')?.[1];
      return { label: expert === undefined ? null : expert === 'Yes' ? 1 : 0, score: Number(share) };
    },
    // the conversations recur with other final replies: split by conversation
    group: (row) => `dices:${(row.category ?? '').split(' | ')[0]}:${/item (\d+)/.exec(row.category ?? '')?.[1] ?? row.prompt}`,
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
  'edgeguard-sexual': ownRequests('edgeguard-sexual', { fine: true }),
  'edgeguard-self-harm': ownRequests('edgeguard-self-harm', { fine: true }),
  'edgeguard-violence': ownRequests('edgeguard-violence', { fine: true }),
  'edgeguard-harassment': ownRequests('edgeguard-harassment', { fine: true }),
  'edgeguard-chatbot': ownRequests('edgeguard-chatbot', { fine: true }),
  'edgeguard-pairs': ownRequests('edgeguard-pairs', { fine: true, kind: 'pair' }),
  // the teacher's verdicts on live traffic (`feedback pull`): each row names its own categories
  feedback: { name: 'feedback', license: "the operator's own traffic (pipeline feedback pull)", kind: 'request', use: 'train' },
};

/** The policy of a file; files unknown to us (a user's own data) are trained on as they are. */
export function policyFor(fileStem: string): SourcePolicy {
  return SOURCES[fileStem] ?? { name: fileStem, license: 'unknown (user data)', kind: 'request', use: 'train' };
}
