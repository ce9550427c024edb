/** `rollback`: points `models/current.json` back at the version it named before. */
import { defineFlagCommand } from '../flag-command.ts';
import { rollback } from '../registry/release.ts';
import { TargetFlags, withStore } from '../registry/target.ts';

export default defineFlagCommand({
  meta: { name: 'rollback', description: 'Make the previously current version current again.' },
  flags: TargetFlags,
  async run(flags) {
    await withStore(flags, async (store) => {
      const move = await rollback(store);
      console.log(`rolled back ${store.where} from ${move.from} to ${move.to}`);
    });
  },
});
