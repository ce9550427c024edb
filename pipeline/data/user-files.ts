/**
 * Users' own data: JSONL or CSV with their column names, mapped onto our row schema.
 * `--map prompt=text,label=is_toxic,response=answer` names the columns; labels may be 1/0,
 * true/false, unsafe/safe or harmful/benign. Rows are validated like ours; a bad one is reported
 * with its file and line.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CLIError } from '../errors.ts';
import { ExampleSchema, type Example } from './schema.ts';

export type ColumnMap = Partial<Record<'id' | 'prompt' | 'response' | 'label' | 'score' | 'category' | 'source', string>>;

/** Parses `prompt=text,label=is_toxic` into a column map. */
export function parseColumnMap(spec: string): ColumnMap {
  const map: ColumnMap = {};
  const fields = new Set(['id', 'prompt', 'response', 'label', 'score', 'category', 'source']);
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [ours, theirs] = part.split('=').map((s) => s.trim());
    if (!ours || !theirs || !fields.has(ours))
      throw new CLIError(`--map: '${part}' is not <field>=<column> with field one of ${[...fields].join(', ')}`);
    map[ours as keyof ColumnMap] = theirs;
  }
  return map;
}

/** RFC 4180 CSV: quoted fields, doubled quotes, newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new CLIError('CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f !== ''));
}

const LABELS: Record<string, 0 | 1> = { '1': 1, '0': 0, true: 1, false: 0, unsafe: 1, safe: 0, harmful: 1, benign: 0, yes: 1, no: 0 };

function toLabel(value: unknown): 0 | 1 | null {
  if (value === null || value === undefined || value === '') return null;
  const label = LABELS[String(value).trim().toLowerCase()];
  if (label === undefined) throw new Error(`label '${String(value)}' is not one of 1/0, true/false, unsafe/safe, harmful/benign`);
  return label;
}

/** Reads a user's JSONL or CSV file through a column map into validated examples. */
export async function readUserFile(path: string, map: ColumnMap): Promise<Example[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CLIError(`cannot read ${path}`);
  }
  const stem = basename(path, extname(path));
  let records: { line: number; get: (col: string) => unknown }[];
  if (extname(path) === '.csv') {
    const [header, ...rows] = parseCsv(text);
    if (!header) throw new CLIError(`${path}: empty CSV`);
    records = rows.map((r, i) => ({ line: i + 2, get: (col: string) => r[header.indexOf(col)] }));
    for (const col of Object.values(map))
      if (!header.includes(col!)) throw new CLIError(`${path}: no column '${col}' (columns: ${header.join(', ')})`);
  } else {
    records = text.split('\n').flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        const obj = JSON.parse(l) as Record<string, unknown>;
        return [{ line: i + 1, get: (col: string) => obj[col] }];
      } catch {
        throw new CLIError(`${path}:${i + 1}: not valid JSON`);
      }
    });
  }
  const col = (field: keyof ColumnMap) => map[field] ?? field;
  return records.map(({ line, get }, i) => {
    try {
      const score = get(col('score'));
      return ExampleSchema.parse({
        id: String(get(col('id')) ?? `${stem}-${i}`),
        prompt: get(col('prompt')),
        response: get(col('response')) || null,
        label: toLabel(get(col('label'))),
        score: score === undefined || score === '' || score === null ? null : Number(score),
        category: (get(col('category')) as string | undefined) || null,
        source: (get(col('source')) as string | undefined) || stem,
      });
    } catch (error) {
      const message =
        error instanceof Error && 'issues' in error
          ? (error as { issues: { path: unknown[]; message: string }[] }).issues.map((x) => `${x.path.join('.')}: ${x.message}`)[0]
          : (error as Error).message;
      throw new CLIError(`${path}:${line}: ${message}`);
    }
  });
}
