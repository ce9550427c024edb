/**
 * pipeline/README.md's CLI reference is generated from the commands' flag schemas and kept true
 * here. After changing a flag, write it anew with:
 *   UPDATE_CLI_REFERENCE=1 npx vitest run --config test/pipeline/vitest.config.ts test/pipeline/cli-reference.test.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderCliReference } from './helpers/cli-reference.ts';
import { leafCommands } from './helpers/commands.ts';

const README = new URL('../../pipeline/README.md', import.meta.url);
const START = '<!-- cli-reference: start (generated from the flag schemas by test/pipeline/cli-reference.test.ts) -->';
const END = '<!-- cli-reference: end -->';

/** The README's text between the markers. */
function referenceIn(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`pipeline/README.md has no ${START} ... ${END} section`);
  return readme.slice(start + START.length, end).trim();
}

describe('pipeline/README.md', async () => {
  const commands = await leafCommands();
  const expected = renderCliReference(commands);

  it('holds the CLI reference the commands generate', async () => {
    let readme = await readFile(README, 'utf8');
    if (process.env.UPDATE_CLI_REFERENCE) {
      readme = `${readme.slice(0, readme.indexOf(START) + START.length)}\n\n${expected}\n\n${readme.slice(readme.indexOf(END))}`;
      await writeFile(README, readme);
    }
    expect(referenceIn(readme), 'run with UPDATE_CLI_REFERENCE=1 to write it anew').toBe(expected);
  });

  it('names every flag of every command under that command', async () => {
    const sections = referenceIn(await readFile(README, 'utf8'))
      .split(/^### /m)
      .slice(1);
    for (const { path, args } of commands) {
      const own = sections.find((s) => s.startsWith(`\`${path.join(' ')}`) && !s.startsWith(`\`${path.join(' ')}-`));
      expect(own, path.join(' ')).toBeDefined();
      for (const [name, arg] of Object.entries(args))
        expect(own, `${path.join(' ')} ${name}`).toMatch(arg.type === 'positional' ? new RegExp(`[<[]${name}[>\\]]`) : `\`--${name}`);
    }
  });
});
