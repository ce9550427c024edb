/**
 * Moving the pointers: promote a deployed version to current, roll back to the one before, or
 * name a shadow candidate. Each move checks the version it points at first, then writes one
 * pointer in one PUT.
 */
import { CLIError } from '../errors.ts';
import { promotedPointer, readCandidate, readCurrent, rolledBackPointer, writeCandidate, writeCurrent } from './pointer.ts';
import type { RegistryStore } from './store.ts';
import { verifyVersion } from './versions.ts';

/** What a pointer move did. */
export interface Move {
  /** The version the pointer named before, if any. */
  from: string | null;
  to: string | null;
  /** False when the pointer already named `to`. */
  changed: boolean;
}

const now = () => new Date().toISOString();

/**
 * Makes `version` current, after checking it as the worker will load it. A candidate pointer
 * naming the same version is cleared: there is nothing left to compare it with.
 * @throws CLIError when the version is missing or fails its check
 */
export async function promote(store: RegistryStore, version: string): Promise<Move> {
  await verifyVersion(store, version);
  const current = await readCurrent(store);
  if (current?.version === version) return { from: version, to: version, changed: false };
  await writeCurrent(store, promotedPointer(current, version, now()));
  if ((await readCandidate(store))?.version === version) await writeCandidate(store, null, now());
  return { from: current?.version ?? null, to: version, changed: true };
}

/**
 * Points current back at the version it named before (the top of its history).
 * @throws CLIError when there is no pointer, no history, or the earlier version fails its check
 */
export async function rollback(store: RegistryStore): Promise<Move> {
  const current = await readCurrent(store);
  if (!current) throw new CLIError(`nothing to roll back: ${store.where} has no current pointer`);
  const previous = rolledBackPointer(current, now());
  await verifyVersion(store, previous.version);
  await writeCurrent(store, previous);
  return { from: current.version, to: previous.version, changed: true };
}

/**
 * Names the shadow candidate (`null` clears it).
 * @throws CLIError when the version fails its check or is the current one
 */
export async function setCandidate(store: RegistryStore, version: string | null): Promise<Move> {
  const before = (await readCandidate(store))?.version ?? null;
  if (version !== null) {
    await verifyVersion(store, version);
    if ((await readCurrent(store))?.version === version)
      throw new CLIError(`${version} is the current version; a candidate is compared with it`);
  }
  if (before === version) return { from: before, to: version, changed: false };
  await writeCandidate(store, version, now());
  return { from: before, to: version, changed: true };
}
