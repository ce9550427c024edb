/**
 * What `npm start` serves. It deploys the model folder (`model/`) to the local R2 if that version
 * is not there yet, and makes it current unless someone chose another version since: a version
 * promoted with `pipeline promote --local` (or rolled back to) keeps serving across restarts,
 * while a default that `npm start` itself made current gives way to a newer `model/` (a
 * `git pull` that brings a new release serves it). `reset` makes the folder's version current
 * whatever the pointer says.
 */
import { z } from 'zod';
import { readCurrent } from '../registry/pointer.ts';
import { promote } from '../registry/release.ts';
import { jsonBytes, type RegistryStore } from '../registry/store.ts';
import { uploadVersion, versionPrefix, type ModelFolder } from '../registry/versions.ts';

/** The version `npm start` last made current itself (a local-only object, outside `models/`). */
export const START_MARKER_KEY = 'dev/start.json';
const MarkerSchema = z.object({ promoted: z.string() });

async function readMarker(store: RegistryStore): Promise<string | null> {
  const bytes = await store.get(START_MARKER_KEY);
  if (!bytes) return null;
  try {
    const parsed = MarkerSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data.promoted : null;
  } catch {
    return null; // unreadable: treat the pointer as chosen by hand (the safe side)
  }
}

export interface Seeded {
  /** The version the worker will serve. */
  serving: string;
  /** The model folder's version. */
  seeded: string;
}

/** Deploys and (unless a version was chosen by hand since) promotes `folder` in the local store. */
export async function seedLocal(store: RegistryStore, folder: ModelFolder, options: { reset: boolean }): Promise<Seeded> {
  const version = folder.manifest.version;
  if ((await store.list(versionPrefix(version))).length === 0) await uploadVersion(store, folder);
  const current = (await readCurrent(store))?.version ?? null;
  const chosenByHand = current !== null && current !== version && current !== (await readMarker(store));
  if (chosenByHand && !options.reset) return { serving: current, seeded: version };
  if (current !== version) await promote(store, version);
  await store.put(START_MARKER_KEY, jsonBytes({ promoted: version }), 'application/json');
  return { serving: version, seeded: version };
}
