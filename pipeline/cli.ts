/**
 * The pipeline CLI: the root command and its lazily loaded subcommands, and the one place that
 * turns errors into exit codes. Heavy commands (training) never load for light ones (`--help`).
 */
import { stripVTControlCharacters } from 'node:util';
import { defineCommand, renderUsage, runCommand, type CommandDef } from 'citty';
import { CLIError } from './errors.ts';

type Loader = () => Promise<CommandDef<any>>;
const lazy =
  (load: () => Promise<{ default: CommandDef<any> }>): Loader =>
  () =>
    load().then((m) => m.default);

/** Every subcommand, loaded only when named. */
export const COMMANDS: Record<string, Loader> = {
  data: lazy(() => import('./commands/data.ts')),
  distill: lazy(() => import('./commands/distill.ts')),
  export: lazy(() => import('./commands/export.ts')),
  eval: lazy(() => import('./commands/eval.ts')),
  compare: lazy(() => import('./commands/compare.ts')),
  lodo: lazy(() => import('./commands/lodo.ts')),
  augment: lazy(() => import('./commands/augment.ts')),
  respond: lazy(() => import('./commands/respond.ts')),
  label: lazy(() => import('./commands/label.ts')),
  run: lazy(() => import('./commands/run.ts')),
  deploy: lazy(() => import('./commands/deploy.ts')),
  promote: lazy(() => import('./commands/promote.ts')),
  rollback: lazy(() => import('./commands/rollback.ts')),
  list: lazy(() => import('./commands/list.ts')),
  show: lazy(() => import('./commands/show.ts')),
  'shadow-report': lazy(() => import('./commands/shadow-report.ts')),
  feedback: lazy(() => import('./commands/feedback.ts')),
  keys: lazy(() => import('./commands/keys.ts')),
};

const root = defineCommand({
  meta: {
    name: 'edgeguard',
    description: 'Build, evaluate and ship EdgeGuard student models (HarmAug distillation).',
  },
  subCommands: COMMANDS,
});

/** Help for the command the argv names, down to a subcommand (`keys create --help`). */
async function usageOf(rawArgs: string[]): Promise<string> {
  const [name, subName] = rawArgs.filter((a) => !a.startsWith('-'));
  const load = name ? COMMANDS[name] : undefined;
  if (!load) return renderUsage(root);
  const command = await load();
  const sub = subName ? (command.subCommands as Record<string, CommandDef<any>> | undefined)?.[subName] : undefined;
  return sub ? renderUsage(sub, defineCommand({ meta: { name: `edgeguard ${name}` } })) : renderUsage(command, root);
}

/**
 * Help as the terminal should show it: citty colours it unless NO_COLOR, TERM=dumb, CI or TEST is
 * set, so a pipe or a file would get the escape codes; they stay only on a terminal that wants them.
 */
function forOutput(usage: string): string {
  return process.stdout.isTTY && !process.env.NO_COLOR ? usage : stripVTControlCharacters(usage);
}

/**
 * Runs the CLI with explicit argv (as tests do) and resolves to the exit code. User errors print
 * one line on stderr; anything else is a bug and prints its stack.
 * @example process.exitCode = await runCli(['eval', '--model', 'model/'])
 */
export async function runCli(rawArgs: string[]): Promise<number> {
  try {
    if (rawArgs.length === 0 || rawArgs.includes('--help') || rawArgs.includes('-h')) {
      console.log(forOutput(await usageOf(rawArgs)));
      return rawArgs.length === 0 ? 1 : 0;
    }
    const name = rawArgs[0]!;
    if (!(name in COMMANDS)) throw new CLIError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    await runCommand(root, { rawArgs });
    return 0;
  } catch (error) {
    // citty's own argument errors carry an E_* code; ours are CLIError. Both are the user's.
    const code = (error as { code?: unknown }).code;
    if (error instanceof CLIError || (typeof code === 'string' && code.startsWith('E_'))) {
      console.error(`edgeguard: ${(error as Error).message}`);
      return 1;
    }
    console.error(error);
    return 1;
  }
}
