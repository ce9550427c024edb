/**
 * JSON Lines I/O. Reading validates every line and names the file and line of the first bad one;
 * appending writes whole lines only, so a killed run leaves every finished record on disk and a
 * resumed run can skip them by id.
 */
import { appendFile, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { CLIError } from '../errors.ts';

/** Reads every line of a JSONL file, validated by `schema`. Blank lines are skipped. */
export async function readJsonl<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>[]> {
  const rows: z.infer<S>[] = [];
  for await (const row of streamJsonl(path, schema)) rows.push(row);
  return rows;
}

/** Streams the lines of a JSONL file, validated by `schema`. A last line cut off by a kill is ignored. */
export async function* streamJsonl<S extends z.ZodType>(path: string, schema: S): AsyncGenerator<z.infer<S>> {
  let handle;
  try {
    handle = await open(path);
  } catch (error) {
    throw new CLIError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const lines = createInterface({ input: handle.createReadStream({ encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let pending: { line: string; no: number } | null = null;
  for await (const line of lines) {
    lineNo++;
    if (pending) yield parseLine(pending.line, pending.no, path, schema);
    pending = line.trim() ? { line, no: lineNo } : null;
  }
  if (pending) {
    // The last line may be half-written by a killed process: skip it if it does not parse.
    let json: unknown;
    try {
      json = JSON.parse(pending.line);
    } catch {
      return;
    }
    yield validate(json, pending.no, path, schema);
  }
}

function parseLine<S extends z.ZodType>(line: string, no: number, path: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new CLIError(`${path}:${no}: not valid JSON`);
  }
  return validate(json, no, path, schema);
}

function validate<S extends z.ZodType>(json: unknown, no: number, path: string, schema: S): z.infer<S> {
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CLIError(`${path}:${no}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
  }
  return result.data;
}

/** Writes rows as a new JSONL file (replacing it). */
export async function writeJsonl(path: string, rows: Iterable<unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const lines: string[] = [];
  for (const row of rows) lines.push(JSON.stringify(row));
  await writeFile(path, lines.length ? `${lines.join('\n')}\n` : '');
}

/**
 * Appends rows to a JSONL file as whole lines. If a killed writer left a half line at the end, it
 * is cut off first (it never was a record), so the file stays valid JSONL.
 */
export async function appendJsonl(path: string, rows: unknown[]): Promise<void> {
  if (rows.length === 0) return;
  await mkdir(dirname(path), { recursive: true });
  await dropHalfLine(path);
  await appendFile(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

async function dropHalfLine(path: string): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return;
  const handle = await open(path, 'r+');
  try {
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
    if (buffer[0] === 0x0a) return;
    const content = await handle.readFile();
    await handle.truncate(content.lastIndexOf(0x0a) + 1);
  } finally {
    await handle.close();
  }
}
