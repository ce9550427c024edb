/**
 * The CLI reference in pipeline/README.md, rendered from the commands' own definitions (citty
 * args generated from each command's flag schema): one heading per command, a row per argument.
 */
import type { ArgDef } from 'citty';
import type { LeafCommand } from './commands.ts';

/** Markdown text for a table cell or a line: pipes escaped, and `<` so that `<out>` is not taken for an HTML tag. */
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('<', '&lt;');

function usage(name: string, arg: ArgDef): string {
  if (arg.type === 'positional') return arg.required === false ? `[${name}]` : `<${name}>`;
  return arg.type === 'boolean' ? `--${name}` : `--${name} <${name.replace(/-/g, '_')}>`;
}

/** One command's section: heading with its positionals, description, and a table of its arguments. */
function section({ path, description, args }: LeafCommand): string {
  const entries = Object.entries(args);
  const positionals = entries.filter(([, a]) => a.type === 'positional').map(([name, a]) => usage(name, a));
  const rows = entries.map(
    ([name, a]) =>
      `| \`${usage(name, a).replaceAll('|', '\\|')}\` | ${cell(a.description ?? '')}${a.type !== 'positional' && a.required ? ' (required)' : ''} |`,
  );
  return [
    `### \`${[...path, ...positionals].join(' ')}\``,
    '',
    cell(description),
    '',
    '| argument | meaning |',
    '| --- | --- |',
    ...rows,
  ].join('\n');
}

/** The whole reference, commands in the CLI's order. */
export function renderCliReference(commands: LeafCommand[]): string {
  return commands.map(section).join('\n\n');
}
