/**
 * Runs the planned stages one after another in a run folder: saves the resolved config, logs each
 * stage's start and end, and gathers every stage's summary into `report.json`. Every stage
 * resumes on its own, so rerunning a killed run picks up where it stopped.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlannedStage } from './config.ts';
import { stageDir } from './stages.ts';

export interface StageReport {
  stage: string;
  seconds: number;
  summary: unknown;
}

/** Options as saved: paths and settings, never a key. */
function saved(options: Record<string, unknown>): Record<string, unknown> {
  const { apiKey: _secret, ...rest } = options;
  return rest;
}

/**
 * @param say where progress lines go (stderr unless quiet)
 */
export async function runChain(runDir: string, plan: PlannedStage[], say: (line: string) => void): Promise<StageReport[]> {
  await mkdir(runDir, { recursive: true });
  const config = Object.fromEntries(plan.map(({ stage, options }) => [stage.name, saved(options)]));
  await writeFile(
    join(runDir, 'config.json'),
    `${JSON.stringify({ out: runDir, stages: plan.map((p) => p.stage.name), ...config }, null, 2)}\n`,
  );
  const log = (event: Record<string, unknown>) =>
    appendFile(join(runDir, 'run.log.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`);
  const reports: StageReport[] = [];
  for (const [i, { stage, options }] of plan.entries()) {
    say(`[run] stage ${i + 1}/${plan.length}: ${stage.name} -> ${stageDir(runDir, stage.name)}`);
    await log({ event: 'start', stage: stage.name });
    const started = performance.now();
    let summary: unknown;
    try {
      summary = await stage.run(options);
    } catch (error) {
      // the run stops here: later stages would build on rows this one did not write
      await log({ event: 'failed', stage: stage.name, message: (error as Error)?.message ?? String(error) });
      throw error;
    }
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await log({ event: 'done', stage: stage.name, seconds });
    reports.push({ stage: stage.name, seconds, summary });
  }
  await writeFile(join(runDir, 'report.json'), `${JSON.stringify(reports, null, 2)}\n`);
  return reports;
}

/** One line per stage for the final report. */
export function formatReport(reports: StageReport[]): string {
  return reports
    .map(({ stage, seconds, summary }) => {
      const s = (summary ?? {}) as Record<string, any>;
      const llm = s.llm
        ? `, ${s.llm.requests} requests (${s.llm.cacheHits} cached, ${s.llm.retries} retries), ${s.llm.promptTokens}+${s.llm.completionTokens} tokens`
        : '';
      const what =
        stage === 'augment'
          ? `${s.kept}/${s.target} instructions from ${s.samples} samples, distinct-2 ${s.diversity?.distinct2}`
          : stage === 'respond'
            ? `${s.rows} answers`
            : stage === 'label'
              ? `${s.rows} rows labelled, ${s.unsafe} unsafe, mean P(unsafe) ${s.meanScore}`
              : 'done';
      const failed = s.failed ? `, ${s.failed} failed (see ${stage}/errors.jsonl; rerun to retry)` : '';
      return `[run] ${stage}: ${what}${failed}${llm}; ${seconds}s`;
    })
    .join('\n');
}
