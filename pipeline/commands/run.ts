/**
 * `run`: the whole chain from one config file (augment -> respond -> label, and the stages after
 * them), in one run folder, resumable at every stage. The config format is in run/config.ts; the
 * chain's stages in run/stages.ts.
 */
import { defineCommand } from 'citty';
import { z } from 'zod';
import { parseArgs } from '../args.ts';
import { CLIError } from '../errors.ts';
import { loadRunConfig, planRun } from '../run/config.ts';
import { formatReport, runChain } from '../run/run-chain.ts';

const Flags = z.object({
  config: z.string().min(1, 'is required'),
  out: z.string().min(1).optional(),
  quiet: z.boolean().default(false),
});

export default defineCommand({
  meta: { name: 'run', description: 'Run the chain (augment -> respond -> label -> ...) from a JSON config into one run folder; rerun to resume.' },
  args: {
    config: { type: 'string', description: 'JSON config: { out, llm: {shared}, augment: {...}, respond: {...}, label: {...} } (see the README, "One command: run --config")', required: true },
    out: { type: 'string', description: "run folder (overrides the config's out)" },
    quiet: { type: 'boolean', description: 'no progress output' },
  },
  async run({ args }) {
    const flags = parseArgs(Flags, args);
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
