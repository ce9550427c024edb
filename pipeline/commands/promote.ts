/**
 * `promote <version>`: makes a deployed version current (one write of `models/current.json`,
 * which keeps the history `rollback` needs). `--candidate` names it the shadow candidate instead;
 * `--clear-candidate` removes the candidate.
 */
import { defineCommand } from 'citty';
import { z } from 'zod';
import { VERSION_PATTERN } from '../../src/guard/manifest.ts';
import { parseArgs } from '../args.ts';
import { CLIError } from '../errors.ts';
import { promote, setCandidate } from '../registry/release.ts';
import { TARGET_ARGS, TargetFlags, rejectUnknownFlags, withStore } from '../registry/target.ts';

const ARGS = {
  version: { type: 'positional', required: false, description: 'a deployed version (see `list`)' },
  candidate: { type: 'boolean', description: 'make it the shadow candidate (scored beside current, off the response path)' },
  clearCandidate: { type: 'boolean', description: 'remove the shadow candidate' },
  ...TARGET_ARGS,
} as const;

const Flags = TargetFlags.extend({
  version: z.string().regex(VERSION_PATTERN, 'letters, digits, ".", "_" or "-", at most 64').optional(),
  candidate: z.boolean().default(false),
  clearCandidate: z.boolean().default(false),
});

export default defineCommand({
  meta: { name: 'promote', description: 'Make a deployed version current (or the shadow candidate).' },
  args: ARGS,
  async run({ args }) {
    rejectUnknownFlags(args, ARGS);
    const flags = parseArgs(Flags, args);
    if (flags.clearCandidate && (flags.version || flags.candidate)) throw new CLIError('--clear-candidate takes no version and no --candidate');
    if (!flags.clearCandidate && !flags.version) throw new CLIError('name the version to promote (see `list`)');
    await withStore(flags, async (store) => {
      if (flags.clearCandidate) {
        const move = await setCandidate(store, null);
        console.log(move.changed ? `cleared the candidate ${move.from} in ${store.where}` : `${store.where} has no candidate`);
      } else if (flags.candidate) {
        const move = await setCandidate(store, flags.version!);
        console.log(move.changed ? `${move.to} is the shadow candidate in ${store.where}${move.from ? ` (was ${move.from})` : ''}` : `${move.to} is already the candidate`);
      } else {
        const move = await promote(store, flags.version!);
        console.log(move.changed ? `promoted ${move.to} to current in ${store.where}${move.from ? ` (was ${move.from})` : ''}` : `${move.to} is already current`);
      }
    });
  },
});
