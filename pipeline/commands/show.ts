/** `show <version>`: a deployed version's manifest in brief: files, model, labels, threshold, data, per-source metrics. */
import { z } from 'zod';
import { versionFlag } from '../args.ts';
import { defineFlagCommand } from '../flag-command.ts';
import { formatBytes, formatDate, formatMetric } from '../registry/format.ts';
import { evalSources } from '../registry/gate.ts';
import { readCandidate, readCurrent } from '../registry/pointer.ts';
import { TargetFlags, withStore } from '../registry/target.ts';
import { readManifest } from '../registry/versions.ts';

const Flags = z
  .object({
    version: versionFlag().describe('a deployed version (see `list`)'),
    json: z.boolean().default(false).describe('print the whole manifest as JSON'),
  })
  .extend(TargetFlags.shape);

export default defineFlagCommand({
  meta: { name: 'show', description: 'Show the manifest summary of a deployed version.' },
  flags: Flags,
  positional: ['version'],
  async run(flags) {
    await withStore(flags, async (store) => {
      const [m, current, candidate] = await Promise.all([readManifest(store, flags.version), readCurrent(store), readCandidate(store)]);
      if (flags.json) {
        console.log(JSON.stringify(m, null, 2));
        return;
      }
      const status =
        m.version === current?.version
          ? 'current'
          : m.version === candidate?.version
            ? 'candidate'
            : current?.history.some((h) => h.version === m.version)
              ? 'previous'
              : 'not serving';
      const model = m.files.model;
      const lines = [
        `${m.version} (${status}) in ${store.where}`,
        `  created     ${formatDate(m.createdAt)}`,
        `  model       ${model.path} ${formatBytes(model.bytes)} sha256 ${model.sha256}`,
        `  network     ${m.model.architecture}, dim ${m.model.dim}, ${m.model.pooling} pooling, hidden ${m.model.hidden}, ${m.model.parameters} parameters, ${m.model.quantization}`,
        `  featurizer  ${m.featurizer.kind}, ${m.featurizer.buckets} buckets, char ${m.featurizer.charNgramMin}-${m.featurizer.charNgramMax}-grams${m.featurizer.wordBigrams ? ' + word bigrams' : ''}, windows ${m.featurizer.windowTokens}/${m.featurizer.windowStride}`,
        `  labels      ${m.labels.join(', ')}`,
        `  threshold   ${m.threshold}${
          Object.keys(m.categoryThresholds).length
            ? ` (${Object.entries(m.categoryThresholds)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`
            : ''
        }`,
        `  data        ${m.dataSources.map((s) => `${s.name} (${s.use}, ${s.rows} rows, ${s.license})`).join('; ') || '–'}`,
      ];
      const sources = evalSources(m);
      if (sources) {
        lines.push('  eval        source                                    AUPRC  FPR    recall');
        for (const [name, s] of Object.entries(sources)) {
          lines.push(
            `              ${name.padEnd(40)}  ${formatMetric(s.auprc).padEnd(5)}  ${formatMetric(s.fpr).padEnd(5)}  ${formatMetric(s.recall).padEnd(5)}${s.seenInTraining ? '  (trained on)' : ''}`,
          );
        }
      } else {
        lines.push('  eval        none recorded (pipeline eval --update-manifest)');
      }
      console.log(lines.join('\n'));
    });
  },
});
