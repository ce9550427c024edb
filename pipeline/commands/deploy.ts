/**
 * `deploy <model-folder>`: uploads an exported model as a new version, each file read back and
 * checked by sha256; refuses an existing version, and a model whose eval metrics miss the gate
 * (unless --force). `--promote` makes it current.
 */
import { z } from 'zod';
import { listFlag, numberFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { CLIError } from '../errors.ts';
import { formatBytes } from '../registry/format.ts';
import { checkGate, describeGate, gateIsSet, loadGate } from '../registry/gate.ts';
import { promote } from '../registry/release.ts';
import { TargetFlags, withStore } from '../registry/target.ts';
import { readDeployable, uploadVersion } from '../registry/versions.ts';

const Flags = z
  .object({
    model: z.string().min(1).describe('model folder (model.onnx + manifest.json, as `export` writes it)'),
    promote: z.boolean().default(false).describe('make it the current version once uploaded'),
    gate: z.string().min(1).optional().describe('gate file: JSON { minAuprc?, maxFpr?, sources? }; flags override it'),
    minAuprc: numberFlag(0, 1).optional().describe("refuse when a source's AUPRC in the manifest's eval metrics is below this"),
    maxFpr: numberFlag(0, 1).optional().describe("refuse when a source's false-positive rate is above this"),
    gateSources: listFlag().optional().describe('comma-separated sources the gate holds to (default: every source with the metric)'),
    force: z.boolean().default(false).describe('deploy even when the metrics miss the gate'),
  })
  .extend(TargetFlags.shape);

export default defineFlagCommand({
  meta: { name: 'deploy', description: 'Upload a model folder to R2 as a new version (sha256-checked, gated by its eval metrics).' },
  flags: Flags,
  positional: ['model'],
  async run(flags) {
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
