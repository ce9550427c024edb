/**
 * `deploy <model-folder>`: uploads an exported model as a new version, each file read back and
 * checked by sha256; refuses an existing version, and a model whose eval metrics miss the gate
 * (unless --force). `--promote` makes it current.
 */
import { defineCommand } from 'citty';
import { z } from 'zod';
import { numberFlag, parseArgs } from '../args.ts';
import { CLIError } from '../errors.ts';
import { formatBytes } from '../registry/format.ts';
import { checkGate, describeGate, gateIsSet, loadGate } from '../registry/gate.ts';
import { promote } from '../registry/release.ts';
import { TARGET_ARGS, TargetFlags, rejectUnknownFlags, withStore } from '../registry/target.ts';
import { readDeployable, uploadVersion } from '../registry/versions.ts';

const ARGS = {
  model: { type: 'positional', required: true, description: 'model folder (model.onnx + manifest.json, as `export` writes it)' },
  promote: { type: 'boolean', description: 'make it the current version once uploaded' },
  gate: { type: 'string', description: 'gate file: JSON { minAuprc?, maxFpr?, sources? }; flags override it' },
  minAuprc: { type: 'string', description: 'refuse when a source\'s AUPRC in the manifest\'s eval metrics is below this' },
  maxFpr: { type: 'string', description: 'refuse when a source\'s false-positive rate is above this' },
  gateSources: { type: 'string', description: 'comma-separated sources the gate holds to (default: every source with the metric)' },
  force: { type: 'boolean', description: 'deploy even when the metrics miss the gate' },
  ...TARGET_ARGS,
} as const;

const Flags = TargetFlags.extend({
  model: z.string().min(1),
  promote: z.boolean().default(false),
  gate: z.string().min(1).optional(),
  minAuprc: numberFlag(0, 1).optional(),
  maxFpr: numberFlag(0, 1).optional(),
  gateSources: z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).optional(),
  force: z.boolean().default(false),
});

export default defineCommand({
  meta: { name: 'deploy', description: 'Upload a model folder to R2 as a new version (sha256-checked, gated by its eval metrics).' },
  args: ARGS,
  async run({ args }) {
    rejectUnknownFlags(args, ARGS);
    const flags = parseArgs(Flags, args);
    const folder = await readDeployable(flags.model);
    const { version } = folder.manifest;
    const gate = await loadGate(flags.gate, { minAuprc: flags.minAuprc, maxFpr: flags.maxFpr, sources: flags.gateSources });
    const misses = checkGate(folder.manifest, gate);
    if (misses.length && !flags.force) {
      throw new CLIError(`${version} misses the gate (${describeGate(gate)}): ${misses.join('; ')}; pass --force to deploy anyway`);
    }
    for (const miss of misses) console.error(`edgeguard: warning: ${version} misses the gate (--force): ${miss}`);
    await withStore(flags, async (store) => {
      await uploadVersion(store, folder);
      const sizes = folder.files.map((f) => `${f.key.split('/').pop()} ${formatBytes(f.bytes.byteLength)}`).join(', ');
      const gated = gateIsSet(gate) ? (misses.length ? 'gate missed, forced' : `gate passed: ${describeGate(gate)}`) : 'no gate set';
      console.log(`deployed ${version} to ${store.where}: ${sizes}; sha256 verified after upload; ${gated}`);
      if (flags.promote) {
        const move = await promote(store, version);
        console.log(`promoted ${version} to current${move.from ? ` (was ${move.from})` : ''}`);
      }
    });
  },
});
