/**
 * `promote <version>`: makes a deployed version current (one write of `models/current.json`,
 * which keeps the history `rollback` needs). `--candidate` names it the shadow candidate instead;
 * `--clear-candidate` removes the candidate.
 */
import { z } from 'zod';
import { versionFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { CLIError } from '../errors.ts';
import { promote, setCandidate } from '../registry/release.ts';
import { TargetFlags, withStore } from '../registry/target.ts';

const Flags = z
  .object({
    version: versionFlag().optional().describe('a deployed version (see `list`)'),
    candidate: z.boolean().default(false).describe('make it the shadow candidate (scored beside current, off the response path)'),
    clearCandidate: z.boolean().default(false).describe('remove the shadow candidate'),
  })
  .extend(TargetFlags.shape);

export default defineFlagCommand({
  meta: { name: 'promote', description: 'Make a deployed version current (or the shadow candidate).' },
  flags: Flags,
  positional: ['version'],
  async run(flags) {
    if (flags.clearCandidate && (flags.version || flags.candidate))
      throw new CLIError('--clear-candidate takes no version and no --candidate');
    if (!flags.clearCandidate && !flags.version) throw new CLIError('name the version to promote (see `list`)');
    await withStore(flags, async (store) => {
      if (flags.clearCandidate) {
        const move = await setCandidate(store, null);
        console.log(move.changed ? `cleared the candidate ${move.from} in ${store.where}` : `${store.where} has no candidate`);
      } else if (flags.candidate) {
        const move = await setCandidate(store, flags.version!);
        console.log(
          move.changed
            ? `${move.to} is the shadow candidate in ${store.where}${move.from ? ` (was ${move.from})` : ''}`
            : `${move.to} is already the candidate`,
        );
      } else {
        const move = await promote(store, flags.version!);
        console.log(
          move.changed
            ? `promoted ${move.to} to current in ${store.where}${move.from ? ` (was ${move.from})` : ''}`
            : `${move.to} is already current`,
        );
      }
    });
  },
});
