/**
 * Every command's flags come from one schema: a misspelt flag is refused by every command (not
 * ignored), errors name the flag as typed, and help shows the schema's real defaults.
 */
import type { ArgsDef } from 'citty';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.ts';
import { leafCommands } from './helpers/commands.ts';

/** What it takes to get past the required arguments: a value for each required positional and flag. */
function requiredArgv(args: ArgsDef): string[] {
  const argv: string[] = [];
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional' && def.required !== false) argv.unshift('x');
    else if (def.type !== 'positional' && def.required) argv.push(`--${name}`, 'x');
  }
  return argv;
}

describe('every command', async () => {
  const leaves = await leafCommands();

  it('covers all seventeen commands, the three keys subcommands and the two feedback subcommands', () => {
    expect(leaves.map((l) => l.path.join(' ')).sort()).toEqual([
      'augment',
      'compare',
      'data',
      'deploy',
      'distill',
      'eval',
      'export',
      'feedback pull',
      'feedback stats',
      'keys create',
      'keys list',
      'keys revoke',
      'label',
      'list',
      'lodo',
      'promote',
      'respond',
      'rollback',
      'run',
      'shadow-report',
      'show',
    ]);
  });

  it.each(leaves.map((l) => [l.path.join(' '), l] as const))(
    '%s refuses a misspelt flag in one line, naming it, with exit code 1',
    async (_, { path, args }) => {
      // the longest flag with its last letter dropped: --max-delta -> --max-delt
      const longest = Object.keys(args)
        .filter((n) => args[n]!.type !== 'positional')
        .sort((a, b) => b.length - a.length)[0]!;
      const misspelt = longest.slice(0, -1);
      const result = await cli(...path, ...requiredArgv(args), `--${misspelt}`, '0.5');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^edgeguard: unknown flag --${misspelt} \\(flags: .*--${longest}\\b.*\\)\\n$`));
      expect(result.stdout).toBe('');
    },
  );
});

describe('flags', () => {
  it('export refuses --max-delt rather than exporting at the default 0.01', async () => {
    const result = await cli('export', '--checkpoint', '/nonexistent', '--out', '/nonexistent-model', '--max-delt', '0.5');
    expect(result).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^edgeguard: unknown flag --max-delt \(flags: --checkpoint, --out, --version, --quantization, --max-delta\)\n$/,
      ),
    });
  });

  it('names a bad flag as the user typed it, in kebab-case', async () => {
    const result = await cli('data', '--out', '/nonexistent-data', '--val-fraction', '0.9');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeguard: --val-fraction: Too big: expected number to be <=0\.5\n$/);
  });

  it('refuses a stray argument instead of ignoring it', async () => {
    const result = await cli('rollback', '--local', 'now');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("edgeguard: unexpected argument 'now' (this command takes flags only)\n");
  });

  it('shows the real defaults in help, from the same schema that applies them', async () => {
    const { stdout } = await cli('data', '--help');
    expect(stdout).toMatch(/--val-fraction=<val_fraction> +share of training groups for validation \(default 0\.1\)/);
    expect(stdout).toMatch(
      /--data=<data> +comma-separated \.jsonl\/\.csv files or folders \(default \.\.\/shared\/data,pipeline\/data\/seed\)/,
    );
    expect((await cli('augment', '--help')).stdout).toMatch(/--concurrency=<concurrency> +requests in flight at once \(default 8\)/);
  });
});
