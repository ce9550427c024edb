/**
 * `data`: read, filter, dedupe (exact and near) and split data sets the way `distill` does, and
 * write the result for inspection or other tools: train/val/test JSONL and a report.
 */
import { defineCommand } from 'citty';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, listFlag, numberFlag, parseArgs } from '../args.ts';
import { writeJsonl } from '../data/jsonl.ts';
import { prepare } from '../data/prepare.ts';
import { split } from '../data/split.ts';
import { parseColumnMap } from '../data/user-files.ts';

const Flags = z.object({
  data: listFlag().default(['../shared/data', 'pipeline/data/seed']),
  out: z.string().min(1),
  holdout: listFlag().default([]),
  map: z.string().optional(),
  valFraction: numberFlag(0.01, 0.5).default(0.1),
  nearDuplicate: numberFlag(0.5, 1).default(0.85),
  refusalPairs: numberFlag(0, 1).default(0.5),
  compliancePairs: numberFlag(0, 1).default(0.25),
  rephrasings: numberFlag(0, 1).default(0),
  seed: intFlag(0, 2 ** 31).default(13),
});

export default defineCommand({
  meta: { name: 'data', description: 'Normalise, dedupe (exact + near) and split data sets; writes train/val/test JSONL.' },
  args: {
    data: { type: 'string', description: 'comma-separated .jsonl/.csv files or folders (default ../shared/data,pipeline/data/seed)' },
    out: { type: 'string', required: true, description: 'folder to write train.jsonl, val.jsonl, test.jsonl, report.json' },
    holdout: { type: 'string', description: 'comma-separated sources held out whole into test (leave-one-dataset-out)' },
    map: { type: 'string', description: 'column mapping for users\' files, e.g. prompt=text,label=is_toxic,response=answer' },
    'val-fraction': { type: 'string', description: 'share of training groups for validation (default 0.1)' },
    'near-duplicate': { type: 'string', description: 'near-duplicate Jaccard threshold, 1 = exact only (default 0.85)' },
    'refusal-pairs': { type: 'string', description: 'share of harmful requests given a synthetic refusal pair (default 0.5)' },
    'compliance-pairs': { type: 'string', description: 'share of harmful requests given a synthetic compliance pair (default 0.25)' },
    rephrasings: { type: 'string', description: 'share of short requests given a rephrased copy in another common form (default 0)' },
    seed: { type: 'string', description: 'seed for splits and synthetic pairs (default 13)' },
  },
  async run({ args }) {
    const flags = parseArgs(Flags, args);
    const { examples, report } = await prepare({
      inputs: flags.data,
      columns: flags.map ? parseColumnMap(flags.map) : undefined,
      nearDuplicate: flags.nearDuplicate,
      refusalPairs: flags.refusalPairs,
      seed: flags.seed,
      holdout: flags.holdout,
      compliancePairs: flags.compliancePairs,
      rephrasings: flags.rephrasings,
    });
    const splits = split(examples, { valFraction: flags.valFraction, holdout: flags.holdout, seed: flags.seed });
    for (const [name, rows] of Object.entries(splits)) await writeJsonl(join(flags.out, `${name}.jsonl`), rows);
    const counts = Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length]));
    await writeFile(join(flags.out, 'report.json'), `${JSON.stringify({ ...report, splits: counts }, null, 2)}\n`);
    console.log(`${report.read} read, ${report.kept} kept (${report.exactDuplicates} exact and ${report.nearDuplicates} near duplicates dropped, ${report.droppedByPolicy} dropped by policy, ${report.refusalPairs} synthetic refusal and ${report.compliancePairs} compliance pairs, ${report.benignSnippets} benign snippets, ${report.rephrasings} rephrasings); train ${counts.train}, val ${counts.val}, test ${counts.test} -> ${flags.out}`);
  },
});
