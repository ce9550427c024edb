/** `list`: the deployed versions with their date, size and headline metrics; which is current and which the candidate. */
import { z } from 'zod';
import { defineFlagCommand } from '../flag-command.ts';
import { formatBytes, formatDate, formatMetric } from '../registry/format.ts';
import { headlineMetrics } from '../registry/gate.ts';
import { readCandidate, readCurrent } from '../registry/pointer.ts';
import { TargetFlags, withStore } from '../registry/target.ts';
import { listVersions } from '../registry/versions.ts';

const Flags = z.object({ json: z.boolean().default(false).describe('print JSON instead of a table') }).extend(TargetFlags.shape);

export default defineFlagCommand({
  meta: { name: 'list', description: 'List deployed versions: date, size, worst AUPRC / FPR, current and candidate.' },
  flags: Flags,
  async run(flags) {
    await withStore(flags, async (store) => {
      const [versions, current, candidate] = await Promise.all([listVersions(store), readCurrent(store), readCandidate(store)]);
      const rows = versions.map((entry) => {
        const back = current?.history.findIndex((h) => h.version === entry.version) ?? -1;
        const status =
          entry.version === current?.version
            ? 'current'
            : entry.version === candidate?.version
              ? 'candidate'
              : back >= 0
                ? `previous ${back + 1}`
                : '';
        return {
          version: entry.version,
          status,
          uploaded: entry.uploaded.toISOString(),
          bytes: entry.bytes,
          createdAt: entry.manifest?.createdAt ?? null,
          quantization: entry.manifest?.model.quantization ?? null,
          ...(entry.manifest ? headlineMetrics(entry.manifest) : { minAuprc: null, maxFpr: null }),
          problem: entry.problem,
        };
      });
      if (flags.json) {
        console.log(
          JSON.stringify(
            { where: store.where, current: current?.version ?? null, candidate: candidate?.version ?? null, versions: rows },
            null,
            2,
          ),
        );
        return;
      }
      if (rows.length === 0) {
        console.log(`no versions in ${store.where}`);
        return;
      }
      const width = Math.max(7, ...rows.map((r) => r.version.length));
      console.log(`versions in ${store.where}, newest first (AUPRC: worst source, FPR: worst source):`);
      console.log(
        `  ${'version'.padEnd(width)}  ${'uploaded'.padEnd(17)}  ${'size'.padStart(9)}  ${'quant'.padEnd(9)}  AUPRC  FPR    status`,
      );
      for (const r of rows) {
        const mark = r.status === 'current' ? '*' : r.status === 'candidate' ? '~' : ' ';
        const status = r.problem ? `BROKEN: ${r.problem}` : r.status;
        console.log(
          `${mark} ${r.version.padEnd(width)}  ${formatDate(r.uploaded)}  ${formatBytes(r.bytes).padStart(9)}  ${(r.quantization ?? '–').padEnd(9)}  ${formatMetric(r.minAuprc).padEnd(5)}  ${formatMetric(r.maxFpr).padEnd(5)}  ${status}`.trimEnd(),
        );
      }
      if (current && !versions.some((v) => v.version === current.version))
        console.log(`! current names ${current.version}, which is not deployed`);
    });
  },
});
