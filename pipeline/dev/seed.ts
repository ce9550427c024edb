/**
 * What `npm start` serves. It deploys the model folder (`model/`) to the local R2 if that version
 * is not there yet, and makes it current unless someone chose another version since: a version
 * promoted with `pipeline promote --local` (or rolled back to) keeps serving across restarts,
 * while a default that `npm start` itself made current gives way to a newer `model/` (a
 * `git pull` that brings a new release serves it). `reset` makes the folder's version current
 * whatever the pointer says, and replaces a stored copy of that version whose files differ.
 */
import { z } from 'zod';
import { readCurrent } from '../registry/pointer.ts';
import { promote } from '../registry/release.ts';
import { jsonBytes, type RegistryStore } from '../registry/store.ts';
import { CLIError } from '../errors.ts';
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

/** Whether the store's copy of the folder's version has the folder's very files. */
async function holdsFolder(store: RegistryStore, folder: ModelFolder): Promise<boolean> {
  for (const file of folder.files) {
    const bytes = await store.get(file.key);
    if (!bytes || bytes.byteLength !== file.bytes.byteLength || !bytes.every((b, i) => b === file.bytes[i])) return false;
  }
  return true;
}

/**
 * Deploys and (unless a version was chosen by hand since) promotes `folder` in the local store.
 * @throws CLIError when the store holds other files under the folder's version and `reset` is off
 */
export async function seedLocal(store: RegistryStore, folder: ModelFolder, options: { reset: boolean }): Promise<Seeded> {
  const version = folder.manifest.version;
  const stored = await store.list(versionPrefix(version));
  if (stored.length > 0 && !(await holdsFolder(store, folder))) {
    // a re-export under the same version: serving the old bytes silently would measure the wrong model
    if (!options.reset) {
      throw new CLIError(
        `the local R2 holds a ${version} with other files than the model folder's (re-exported under the same version?); \`npm start -- --reset\` replaces it`,
      );
    }
    for (const object of stored) await store.delete(object.key);
    stored.length = 0;
  }
  if (stored.length === 0) await uploadVersion(store, folder);
  const current = (await readCurrent(store))?.version ?? null;
  const chosenByHand = current !== null && current !== version && current !== (await readMarker(store));
  if (chosenByHand && !options.reset) return { serving: current, seeded: version };
  if (current !== version) await promote(store, version);
  await store.put(START_MARKER_KEY, jsonBytes({ promoted: version }), 'application/json');
  return { serving: version, seeded: version };
}
