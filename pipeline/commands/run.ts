/**
 * `run`: the whole chain from one config file (augment -> respond -> label, and the stages after
 * them), in one run folder, resumable at every stage. The config format is in run/config.ts; the
 * chain's stages in run/stages.ts.
 */
import { z } from 'zod';
import { quietFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { CLIError } from '../errors.ts';
import { loadRunConfig, planRun } from '../run/config.ts';
import { formatReport, runChain } from '../run/run-chain.ts';

const Flags = z.object({
  config: z
    .string()
    .min(1, 'is required')
    .describe(
      'JSON config: { out, llm: {shared}, augment: {...}, respond: {...}, label: {...} } (see pipeline/README.md, "One command: run --config")',
    ),
  out: z.string().min(1).optional().describe("run folder (overrides the config's out)"),
  quiet: quietFlag(),
});

export default defineFlagCommand({
  meta: {
    name: 'run',
    description: 'Run the chain (augment -> respond -> label -> ...) from a JSON config into one run folder; rerun to resume.',
  },
  flags: Flags,
  async run(flags) {
    const config = await loadRunConfig(flags.config);
    const runDir = flags.out ?? config.out;
    if (!runDir) throw new CLIError('--out: required (or set "out" in the config)');
    const plan = planRun(config, runDir, { quiet: flags.quiet });
    const say = (line: string) => {
      if (!flags.quiet) process.stderr.write(`${line}\n`);
    };
    const reports = await runChain(runDir, plan, say);
    say(formatReport(reports));
    say(`[run] done: ${runDir}/report.json`);
  },
});
