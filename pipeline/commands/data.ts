/**
 * `data`: read, filter, dedupe (exact and near) and split data sets the way `distill` does, and
 * write the result for inspection or other tools: train/val/test JSONL and a report.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { intFlag, listFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { writeJsonl } from '../data/jsonl.ts';
import { prepare } from '../data/prepare.ts';
import { split } from '../data/split.ts';
import { parseColumnMap } from '../data/user-files.ts';
import { DISTILL_DEFAULTS, DistillConfigSchema } from '../train/config.ts';

type RecipeNumber = 'valFraction' | 'nearDuplicate' | 'refusalPairs' | 'compliancePairs' | 'rephrasings' | 'wrappedRequests';
/** A flag checked and defaulted exactly as the distill recipe's setting of the same name, so `data` splits as `distill` does. */
const recipeNumber = (key: RecipeNumber) => z.coerce.number().pipe(DistillConfigSchema.shape[key]).default(DISTILL_DEFAULTS[key]);

const Flags = z.object({
  data: listFlag().default(DISTILL_DEFAULTS.data).describe('comma-separated .jsonl/.csv files or folders'),
  out: z.string().min(1).describe('folder to write train.jsonl, val.jsonl, test.jsonl, report.json'),
  holdout: listFlag().default([]).describe('comma-separated sources held out whole into test (leave-one-dataset-out)'),
  map: z.string().optional().describe("column mapping for users' files, e.g. prompt=text,label=is_toxic,response=answer"),
  valFraction: recipeNumber('valFraction').describe('share of training groups for validation'),
  nearDuplicate: recipeNumber('nearDuplicate').describe('near-duplicate Jaccard threshold, 1 = exact only'),
  refusalPairs: recipeNumber('refusalPairs').describe('share of harmful requests given a synthetic refusal pair'),
  compliancePairs: recipeNumber('compliancePairs').describe('share of harmful requests given a synthetic compliance pair'),
  rephrasings: recipeNumber('rephrasings').describe('share of short requests given a rephrased copy in another common form'),
  wrappedRequests: recipeNumber('wrappedRequests').describe(
    "share of requests given a copy wrapped in other benign requests' text, half run on",
  ),
  seed: intFlag(0, 2 ** 31)
    .default(DISTILL_DEFAULTS.train.seed)
    .describe('seed for splits and synthetic pairs'),
});

export default defineFlagCommand({
  meta: { name: 'data', description: 'Normalise, dedupe (exact + near) and split data sets; writes train/val/test JSONL.' },
  flags: Flags,
  async run(flags) {
    const { examples, report } = await prepare({
      inputs: flags.data,
      columns: flags.map ? parseColumnMap(flags.map) : undefined,
      nearDuplicate: flags.nearDuplicate,
      refusalPairs: flags.refusalPairs,
      seed: flags.seed,
      holdout: flags.holdout,
      compliancePairs: flags.compliancePairs,
      rephrasings: flags.rephrasings,
      wrappedRequests: flags.wrappedRequests,
    });
    const splits = split(examples, { valFraction: flags.valFraction, holdout: flags.holdout, seed: flags.seed });
    for (const [name, rows] of Object.entries(splits)) await writeJsonl(join(flags.out, `${name}.jsonl`), rows);
    const counts = Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length]));
    await writeFile(join(flags.out, 'report.json'), `${JSON.stringify({ ...report, splits: counts }, null, 2)}\n`);
    console.log(
      `${report.read} read, ${report.kept} kept (${report.exactDuplicates} exact and ${report.nearDuplicates} near duplicates dropped, ${report.droppedByPolicy} dropped by policy, ${report.refusalPairs} synthetic refusal and ${report.compliancePairs} compliance pairs, ${report.benignSnippets} benign snippets, ${report.rephrasings} rephrasings, ${report.wrappedRequests} wrapped requests); train ${counts.train}, val ${counts.val}, test ${counts.test} -> ${flags.out}`,
    );
  },
});
