/** `rollback`: points `models/current.json` back at the version it named before. */
import { defineCommand } from 'citty';
import { parseArgs } from '../args.ts';
import { rollback } from '../registry/release.ts';
import { TARGET_ARGS, TargetFlags, rejectUnknownFlags, withStore } from '../registry/target.ts';

const ARGS = { ...TARGET_ARGS } as const;

export default defineCommand({
  meta: { name: 'rollback', description: 'Make the previously current version current again.' },
  args: ARGS,
  async run({ args }) {
    rejectUnknownFlags(args, ARGS);
    const flags = parseArgs(TargetFlags, args);
    await withStore(flags, async (store) => {
      const move = await rollback(store);
      console.log(`rolled back ${store.where} from ${move.from} to ${move.to}`);
    });
  },
});
