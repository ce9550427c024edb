/**
 * A stage's folder in a run (nanoGPT style): its resolved config (`config.json`), a log
 * (`log.txt`), its outputs, and a `summary.json` once it finishes. A rerun in the same folder
 * resumes; if its config differs from the saved one, the differences are logged and shown, so
 * mixing settings inside one folder never goes unnoticed.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from './llm/cache.ts';

export interface StageFolder {
  dir: string;
  path(name: string): string;
  /** A line in log.txt and, unless quiet, on stderr. */
  log(line: string): Promise<void>;
  writeSummary(summary: unknown): Promise<void>;
}

/**
 * Creates or reopens `dir` for `stage` with `config`.
 * @param options.quiet keep stderr for progress lines only
 */
export async function openStageFolder(
  dir: string,
  stage: string,
  config: Record<string, unknown>,
  options: { quiet?: boolean } = {},
): Promise<StageFolder> {
  await mkdir(dir, { recursive: true });
  const folder: StageFolder = {
    dir,
    path: (name) => join(dir, name),
    async log(line) {
      if (!options.quiet) process.stderr.write(`[${stage}] ${line}\n`);
      await appendFile(join(dir, 'log.txt'), `${new Date().toISOString()} ${line}\n`);
    },
    async writeSummary(summary) {
      await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    },
  };
  const configPath = join(dir, 'config.json');
  const file = await readFile(configPath, 'utf8').then(
    (t) => JSON.parse(t) as Record<string, unknown>,
    () => null,
  );
  if (file) {
    const { stage: _stage, ...saved } = file;
    const changed = Object.keys({ ...saved, ...config }).filter((k) => canonicalJson(saved[k]) !== canonicalJson(config[k]));
    const detail = changed.map((k) => `${k}: ${JSON.stringify(saved[k])} -> ${JSON.stringify(config[k])}`).join(', ');
    await folder.log(changed.length ? `resuming with a changed config: ${detail}` : 'resuming');
  }
  await writeFile(configPath, `${JSON.stringify({ stage, ...config }, null, 2)}\n`);
  return folder;
}
