/**
 * The registry's pointers: `models/current.json` (the version the worker serves) and the optional
 * `models/candidate.json` (a version the worker scores with in the shadow). Each is replaced by one
 * PUT of the whole JSON, so a reader sees the old pointer or the new one, never half of one.
 * The current pointer carries its own history, newest first: `rollback` pops it.
 */
import { MODEL_KEYS, PointerRecordSchema, type PointerRecord } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';
import { jsonBytes, type RegistryStore } from './store.ts';

/** Earlier versions a pointer remembers; older ones drop off (they stay deployed). */
export const HISTORY_LIMIT = 50;

async function readPointerAt(store: RegistryStore, key: string): Promise<PointerRecord | null> {
  const bytes = await store.get(key);
  if (!bytes) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new CLIError(`${key} in ${store.where} is not JSON`);
  }
  const parsed = PointerRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CLIError(`${key} in ${store.where} is invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The current pointer, or `null` when nothing was ever promoted. A pointer without history (as `npm start` seeds) reads as one with an empty history. */
export const readCurrent = (store: RegistryStore) => readPointerAt(store, MODEL_KEYS.pointer);

/** The shadow candidate's pointer, or `null` when there is none. */
export const readCandidate = (store: RegistryStore) => readPointerAt(store, MODEL_KEYS.candidate);

/**
 * The pointer that makes `version` current: the replaced version goes on top of the history.
 * @param at ISO time of the change
 */
export function promotedPointer(current: PointerRecord | null, version: string, at: string): PointerRecord {
  const history = current ? [{ version: current.version, at: current.updatedAt ?? at }, ...current.history] : [];
  return { version, updatedAt: at, history: history.slice(0, HISTORY_LIMIT) };
}

/**
 * The pointer that brings back the version before `current`, dropping it from the history.
 * @throws CLIError when the history is empty
 */
export function rolledBackPointer(current: PointerRecord, at: string): PointerRecord {
  const [previous, ...rest] = current.history;
  if (!previous) throw new CLIError(`${MODEL_KEYS.pointer} has no earlier version to roll back to (current: ${current.version})`);
  return { version: previous.version, updatedAt: at, history: rest };
}

/** Replaces the current pointer in one write. */
export async function writeCurrent(store: RegistryStore, pointer: PointerRecord): Promise<void> {
  await store.put(MODEL_KEYS.pointer, jsonBytes(pointer), 'application/json');
}

/** Replaces the candidate pointer in one write; `null` removes it. */
export async function writeCandidate(store: RegistryStore, version: string | null, at: string): Promise<void> {
  if (version === null) await store.delete(MODEL_KEYS.candidate);
  else await store.put(MODEL_KEYS.candidate, jsonBytes({ version, updatedAt: at }), 'application/json');
}
