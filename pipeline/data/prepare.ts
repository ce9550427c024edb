/**
 * From data files to one deduplicated, labelled, grouped set of examples.
 *
 * 1. Read every file (the schema of ../shared/data), drop rows its source policy excludes, and
 *    attach our category labels.
 * 2. Dedupe across files, exact and near-duplicate. Eval-only sets are read first, so a training
 *    row that repeats one of them is dropped and those sets stay unseen.
 * 3. Give each row a split group (the request, or the behaviour/question for pair sets where few
 *    requests recur), so a split never puts the same request on both sides.
 * 4. Add synthetic pairs: "harmful request + refusal" (label 0) from our refusal texts, so the
 *    student learns that a refusal makes a harmful request's exchange benign, and "harmful request
 *    + compliant opening" (label 1), so it learns that going along with one is harmful.
 * 5. Add benign snippets: the first and last sentence of long benign requests, as benign requests
 *    of their own. Harmful requests in public sets are short and benign ones long, so without
 *    this the student learns "short question = harmful" and flags everyday chat.
 * 6. Add rephrasings: short requests of both classes in another common form (see rephrase.ts),
 *    so the form of a request says nothing about its label.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CLIError } from '../errors.ts';
import { DuplicateIndex, textKey } from './dedupe.ts';
import { readJsonl } from './jsonl.ts';
import { ExampleSchema, hardLabel, type Example } from './schema.ts';
import { policyFor, type SourceKind, type SourcePolicy } from './sources.ts';
import { readUserFile, type ColumnMap } from './user-files.ts';
import { createRng, type Rng } from '../rng.ts';
import { rephrase } from './rephrase.ts';

/** An example ready for splitting and training. */
export interface PreparedExample extends Example {
  group: string;
  kind: SourceKind;
  use: 'train' | 'eval-only';
}

export interface PrepareOptions {
  /** Data files (.jsonl) or folders of them. */
  inputs: string[];
  /** Near-duplicate threshold (estimated Jaccard of word 3-shingles); 1 disables near-dedupe. */
  nearDuplicate: number;
  /** Share of harmful requests that also get a synthetic refusal pair. */
  refusalPairs: number;
  /** Add first/last-sentence snippets of long benign requests as benign requests. */
  benignSnippets?: boolean;
  seed: number;
  /** Column names of users' files (CSV, or JSONL in another schema); none: our schema. */
  columns?: ColumnMap;
  /** Share of harmful requests that also get a synthetic compliance pair (label 1). */
  compliancePairs?: number;
  /** Share of short requests (harmful and benign) that also get a rephrased copy. */
  rephrasings?: number;
  /**
   * Share of requests (harmful and benign alike) that also get a copy wrapped in other benign
   * requests' text, half of them run on with their punctuation removed: a harmful request inside
   * benign text is still harmful, a benign one still benign.
   */
  wrappedRequests?: number;
  /**
   * Sources held out for evaluation: read right after eval-only ones (so their copy of a
   * duplicate is kept) and given no synthetic rows (so they are measured on real rows only).
   */
  holdout?: string[];
  /** Sources to measure but never train on, besides those whose policy says so (e.g. to compare a recipe from before they existed). */
  evalOnly?: string[];
  /** Soft scores to train with instead of a source's policy score (its rows that are only measured keep the policy's). */
  softScores?: Record<string, number>;
  /**
   * Train on the sources' soft labels (`soft` in sources.ts); false: on their hard labels as
   * upstream gives them. Held-out and eval-only rows always read as the policy says. Default true.
   */
  softLabels?: boolean;
}

export interface PrepareReport {
  read: number;
  kept: number;
  droppedByPolicy: number;
  exactDuplicates: number;
  nearDuplicates: number;
  refusalPairs: number;
  compliancePairs: number;
  benignSnippets: number;
  rephrasings: number;
  wrappedRequests: number;
  perSource: Record<string, { rows: number; harmful: number; benign: number; license: string; use: string }>;
}

const SEED_DIR = new URL('./seed/', import.meta.url);

/** Lists .jsonl files of the inputs, sorted for determinism. */
export async function listDataFiles(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    if (input.endsWith('.jsonl') || input.endsWith('.csv')) {
      files.push(input);
      continue;
    }
    let names: string[];
    try {
      names = await readdir(input);
    } catch {
      throw new CLIError(`cannot read data folder ${input}`);
    }
    files.push(
      ...names
        .filter((n) => n.endsWith('.jsonl') || n.endsWith('.csv'))
        .sort()
        .map((n) => join(input, n)),
    );
  }
  if (files.length === 0) throw new CLIError(`no .jsonl or .csv files in ${inputs.join(', ')}`);
  return files;
}

/** Lines of one of our hand-written seed files (pipeline/data/seed/), or `fallback`. */
async function seedLines(name: string, fallback: string[]): Promise<string[]> {
  const text = await readFile(new URL(name, SEED_DIR), 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length ? lines : fallback;
}

/**
 * The start of an answer that goes along with `request`: a compliant opener, the request's own
 * words as the topic, and the first step. Real compliances (gptfuzz, jailbreakbench artifacts)
 * open this way; the words that follow are the request's, so the pair is harmful for the same
 * reason the request is.
 */
function complianceFor(request: string, opener: string): string {
  const topic = request.trim().replace(/[?.!]+$/, '');
  return `${opener} ${topic.charAt(0).toLowerCase()}${topic.slice(1)}:\n\n1.`;
}

const withUse = (policy: SourcePolicy, evalOnly: string[]): SourcePolicy =>
  evalOnly.includes(policy.name) ? { ...policy, use: 'eval-only' } : policy;

/** Reads, filters, categorises, dedupes and groups the examples of `inputs`. */
export async function prepare(options: PrepareOptions): Promise<{ examples: PreparedExample[]; report: PrepareReport }> {
  const files = await listDataFiles(options.inputs);
  const loaded = await Promise.all(
    files.map(async (file) => ({
      policy: withUse(policyFor(basename(file).replace(/\.(jsonl|csv)$/, '')), options.evalOnly ?? []),
      rows:
        options.columns || file.endsWith('.csv') ? await readUserFile(file, options.columns ?? {}) : await readJsonl(file, ExampleSchema),
    })),
  );
  // Eval-only and held-out sets first: their copy of a duplicate is the one kept, so they stay
  // unseen by training.
  const rank = (name: string, use: string) => (use === 'eval-only' ? 0 : options.holdout?.includes(name) ? 1 : 2);
  loaded.sort((a, b) => rank(a.policy.name, a.policy.use) - rank(b.policy.name, b.policy.use));

  const report: PrepareReport = {
    read: 0,
    kept: 0,
    droppedByPolicy: 0,
    exactDuplicates: 0,
    nearDuplicates: 0,
    refusalPairs: 0,
    compliancePairs: 0,
    benignSnippets: 0,
    rephrasings: 0,
    wrappedRequests: 0,
    perSource: {},
  };
  const prompts = new DuplicateIndex(options.nearDuplicate);
  const pairKeys = new Set<string>();
  const examples: PreparedExample[] = [];

  for (const { policy, rows } of loaded) {
    for (const row of rows) {
      report.read++;
      if (row.label === null && row.score === null) throw new CLIError(`${row.id}: neither label nor score`);
      if (policy.keep && !policy.keep(row)) {
        report.droppedByPolicy++;
        continue;
      }
      if (row.response === null) {
        const hit = prompts.find(row.prompt);
        if (hit !== null) {
          if (textKey(row.prompt) === textKey(hit)) report.exactDuplicates++;
          else report.nearDuplicates++;
          continue;
        }
        prompts.add(row.prompt, row.prompt);
      } else {
        const key = `${textKey(row.prompt)}\u0000${textKey(row.response)}`;
        if (pairKeys.has(key)) {
          report.exactDuplicates++;
          continue;
        }
        pairKeys.add(key);
      }
      // rows that are only measured always read as the policy says, so recipes compare on one truth
      const measuredOnly = policy.use === 'eval-only' || (options.holdout?.includes(policy.name) ?? false);
      const policySoft = row.score === null && (options.softLabels !== false || measuredOnly) ? (policy.soft?.(row) ?? null) : null;
      const override = measuredOnly ? undefined : options.softScores?.[policy.name];
      const graded = policySoft && override !== undefined ? { ...policySoft, score: override } : policySoft;
      const labelled = graded ? { ...row, label: graded.label, score: graded.score } : row;
      const harmful = hardLabel(labelled.label, labelled.score) === 1;
      // a soft row below 0.5 counts as benign but keeps what its upstream label says it is about
      const categories = harmful || graded ? (row.categories ?? policy.categories?.(row) ?? null) : [];
      examples.push({
        ...labelled,
        source: policy.name,
        categories,
        group: policy.group?.(row) ?? `p:${textKey(row.prompt)}`,
        kind: policy.kind,
        use: policy.use,
      });
      const stats = (report.perSource[policy.name] ??= { rows: 0, harmful: 0, benign: 0, license: policy.license, use: policy.use });
      stats.rows++;
      harmful ? stats.harmful++ : stats.benign++;
    }
  }

  const rows = examples.length; // the rows read; synthetic ones follow
  const refusalTexts = await seedLines('refusals.txt', ["I'm sorry, but I can't help with that."]);
  const openers = await seedLines('compliance-openers.txt', ['Sure, here is']);
  const rng = createRng(options.seed);
  const synthetic: PreparedExample[] = [];
  for (const ex of examples) {
    if (ex.response !== null || ex.label !== 1 || ex.use !== 'train' || options.holdout?.includes(ex.source)) continue;
    if (ex.kind !== 'request' && ex.kind !== 'jailbreak') continue;
    if (rng() < options.refusalPairs) {
      synthetic.push({
        ...ex,
        id: `${ex.id}:refusal`,
        response: refusalTexts[Math.floor(rng() * refusalTexts.length)]!,
        label: 0,
        score: null,
        categories: [],
        category: 'synthetic refusal of a harmful request',
      });
    }
    if (ex.kind === 'request' && rng() < (options.compliancePairs ?? 0)) {
      synthetic.push({
        ...ex,
        id: `${ex.id}:compliance`,
        response: complianceFor(ex.prompt, openers[Math.floor(rng() * openers.length)]!),
        category: 'synthetic compliance with a harmful request',
      });
    }
  }
  report.refusalPairs = synthetic.filter((ex) => ex.label === 0).length;
  report.compliancePairs = synthetic.length - report.refusalPairs;
  examples.push(...synthetic);
  if (options.benignSnippets) {
    const snippets = examples.flatMap((ex) => (options.holdout?.includes(ex.source) ? [] : benignSnippets(ex, prompts)));
    report.benignSnippets = snippets.length;
    examples.push(...snippets);
  }
  if (options.rephrasings) {
    const share = options.rephrasings;
    const rephrased = examples
      .slice(0, rows)
      .flatMap((ex) => (rng() < share && !options.holdout?.includes(ex.source) ? rephrasing(ex, prompts, rng) : []));
    report.rephrasings = rephrased.length;
    examples.push(...rephrased);
  }
  if (options.wrappedRequests) {
    const share = options.wrappedRequests;
    const read = examples.slice(0, rows);
    const fillers = read
      .filter((ex) => isTrainingRequest(ex, options.holdout) && ex.label === 0 && ex.prompt.length >= 40)
      .map((ex) => ex.prompt);
    const wrapped = read.flatMap((ex) =>
      isTrainingRequest(ex, options.holdout) && fillers.length > 0 && rng() < share ? [wrapping(ex, fillers, rng)] : [],
    );
    report.wrappedRequests = wrapped.length;
    examples.push(...wrapped);
  }
  report.kept = examples.length;
  return { examples, report };
}

/** A prompt-only request or benign request that training may read, of a set not held out. */
function isTrainingRequest(ex: PreparedExample, holdout: string[] | undefined): boolean {
  return ex.response === null && ex.use === 'train' && (ex.kind === 'request' || ex.kind === 'benign') && !holdout?.includes(ex.source);
}

/** Benign requests' text of about `chars` characters. */
function fillerOf(fillers: string[], chars: number, rng: Rng): string {
  let out = '';
  while (out.length < chars) out += `${out ? ' ' : ''}${fillers[Math.floor(rng() * fillers.length)]!.trim()}`;
  return out;
}

/** The request between other benign requests' text (50 to 2,000 characters), half the time run on. */
function wrapping(ex: PreparedExample, fillers: string[], rng: Rng): PreparedExample {
  const before = fillerOf(fillers, 50 + Math.floor(rng() * 1000), rng);
  const after = rng() < 0.5 ? '' : ` ${fillerOf(fillers, Math.floor(rng() * 1000), rng)}`;
  const text = `${before} ${ex.prompt.trim()}${after}`;
  const runOn = rng() < 0.5;
  return {
    ...ex,
    id: `${ex.id}:wrapped`,
    prompt: runOn ? text.replace(/[.,!?;:]/g, '') : text,
    category: `synthetic: request wrapped in benign text${runOn ? ', run on' : ''}`,
  };
}

/** The request in another form, with its label and group, when it has a form we know and the result is new. */
function rephrasing(ex: PreparedExample, seen: DuplicateIndex, rng: Rng): PreparedExample[] {
  if (ex.response !== null || ex.use !== 'train' || (ex.kind !== 'request' && ex.kind !== 'benign')) return [];
  const text = rephrase(ex.prompt, rng);
  if (text === null || seen.find(text) !== null) return [];
  seen.add(text, text);
  return [{ ...ex, id: `${ex.id}:rephrased`, prompt: text }];
}

const SENTENCE = /[^.!?\n]+[.!?]?/g;

/** First and last sentence of a long benign request, each at least 3 words, unseen so far. */
function benignSnippets(ex: PreparedExample, seen: DuplicateIndex): PreparedExample[] {
  if (ex.label !== 0 || ex.response !== null || ex.use !== 'train' || ex.kind === 'content') return [];
  const sentences = (ex.prompt.match(SENTENCE) ?? []).map((s) => s.trim()).filter((s) => s.split(/\s+/).length >= 3);
  if (sentences.length < 2) return [];
  const picks = [...new Set([sentences[0]!, sentences[sentences.length - 1]!])];
  return picks.flatMap((text, i) => {
    if (seen.find(text) !== null) return [];
    seen.add(text, text);
    return [{ ...ex, id: `${ex.id}:snippet-${i}`, prompt: text, category: 'benign snippet' }];
  });
}
