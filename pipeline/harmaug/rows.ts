/**
 * Small helpers the LLM stages share for their append-only outputs.
 */
import type { z } from 'zod';
import { streamJsonl } from '../data/jsonl.ts';
import { type Example, ExampleSchema } from '../data/schema.ts';
import { CLIError } from '../errors.ts';

/** Lines of a JSONL file validated by `schema`, or none if the file does not exist yet. */
export async function readJsonlIfExists<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>[]> {
  const rows: z.infer<S>[] = [];
  try {
    for await (const row of streamJsonl(path, schema)) rows.push(row);
  } catch (error) {
    if (error instanceof CLIError && /^cannot read .*ENOENT/.test(error.message)) return rows;
    throw error;
  }
  return rows;
}

/** Rows of a stage output, or none if the file does not exist yet. */
export function readRowsIfExist(path: string): Promise<Example[]> {
  return readJsonlIfExists(path, ExampleSchema);
}

/** A per-request sampling seed derived from a row id, so a rerun sends the identical request. */
export function stableSeed(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h % 2 ** 31;
}
