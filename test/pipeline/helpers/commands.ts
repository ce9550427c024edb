/** The pipeline CLI's commands as citty defines them (from their flag schemas), for tests and the CLI reference. */
import type { ArgsDef, CommandDef } from 'citty';
import { COMMANDS } from '../../../pipeline/cli.ts';

export interface LeafCommand {
  /** The argv that names it: ['deploy'], ['keys', 'create']. */
  path: string[];
  description: string;
  args: ArgsDef;
}

/** Every runnable command, in the CLI's order, subcommands after their parent. */
export async function leafCommands(): Promise<LeafCommand[]> {
  const leaves: LeafCommand[] = [];
  const visit = async (path: string[], command: CommandDef<any>) => {
    if (command.run)
      leaves.push({
        path,
        description: (command.meta as { description?: string } | undefined)?.description ?? '',
        args: (command.args ?? {}) as ArgsDef,
      });
    const subCommands = (command.subCommands ?? {}) as Record<string, CommandDef<any>>;
    for (const [name, sub] of Object.entries(subCommands)) await visit([...path, name], sub);
  };
  for (const [name, load] of Object.entries(COMMANDS)) await visit([name], await load());
  return leaves;
}
