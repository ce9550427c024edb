/**
 * Model versions in a bucket: uploading one (each file read back and checked by sha256), checking
 * one before a pointer names it, and listing them all. A version is `models/<version>/model.onnx`
 * plus `models/<version>/manifest.json`; the manifest goes up last, so a version whose manifest is
 * there is complete.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_KEYS, ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';
import { CLIError } from '../errors.ts';
import { readModelFolder } from '../model-folder.ts';
import { sha256Hex } from '../sha256.ts';
import type { RegistryStore, StoredObject } from './store.ts';

/** The folder of a version: every key under it belongs to that version. */
export const versionPrefix = (version: string) => `models/${version}/`;

/** A model folder, checked and read, ready to upload. */
export interface ModelFolder {
  manifest: Manifest;
  /** What goes up, in upload order (manifest last). */
  files: { key: string; bytes: Uint8Array; contentType: string }[];
}

/**
 * Reads a model folder and checks it as the worker will: a valid manifest and a model.onnx with
 * the manifest's sha256 and size.
 * @throws CLIError naming what is wrong (missing file, bad manifest, hash mismatch)
 */
export async function readDeployable(dir: string): Promise<ModelFolder> {
  const { manifest, bytes } = await readModelFolder(dir);
  if (bytes.byteLength !== manifest.files.model.bytes) {
    throw new CLIError(
      `${dir}/${manifest.files.model.path} has ${bytes.byteLength} bytes, its manifest says ${manifest.files.model.bytes}`,
    );
  }
  // The manifest goes up byte for byte as exported (the worker parses it with the same schema).
  const manifestBytes = new Uint8Array(await readFile(join(dir, 'manifest.json')));
  return {
    manifest,
    files: [
      { key: MODEL_KEYS.model(manifest.version), bytes, contentType: 'application/octet-stream' },
      { key: MODEL_KEYS.manifest(manifest.version), bytes: manifestBytes, contentType: 'application/json' },
    ],
  };
}

/**
 * Uploads a checked model folder as a new version: each file is created (a conditional write that
 * fails when the key exists, so of two deploys racing for a version only one gets it, and no
 * deploy ever overwrites another's file), read back and compared by sha256. A version that fails
 * the read-back is deleted again, so it can be retried; a deploy that loses a race deletes only
 * what it wrote itself.
 * @throws CLIError when the version already exists (nothing of it is overwritten) or a file reads
 *   back wrong
 */
export async function uploadVersion(store: RegistryStore, folder: ModelFolder): Promise<void> {
  const { version } = folder.manifest;
  const exists = (files: string) =>
    new CLIError(`version ${version} already exists in ${store.where} (${files}); versions are immutable: export under a new --version`);
  // The listing gives the usual case its clear message; the conditional writes below are the guarantee.
  const existing = await store.list(versionPrefix(version));
  if (existing.length > 0) throw exists(`${existing.length} files`);
  const written: string[] = [];
  try {
    for (const file of folder.files) {
      if (!(await store.create(file.key, file.bytes, file.contentType)))
        throw exists(`${file.key} was written by another deploy meanwhile`);
      written.push(file.key);
      const back = await store.get(file.key);
      const expected = sha256Hex(file.bytes);
      const actual = back ? sha256Hex(back) : null;
      if (actual !== expected) {
        throw new CLIError(
          `${file.key} read back ${actual ? `with sha256 ${actual.slice(0, 12)}…` : 'missing'}, expected ${expected.slice(0, 12)}…; the upload of ${version} was removed`,
        );
      }
    }
  } catch (error) {
    for (const key of written.reverse()) await store.delete(key).catch(() => {});
    throw error;
  }
}

/**
 * The manifest of a deployed version.
 * @throws CLIError when it is missing or invalid
 */
export async function readManifest(store: RegistryStore, version: string): Promise<Manifest> {
  const key = MODEL_KEYS.manifest(version);
  const bytes = await store.get(key);
  if (!bytes) throw new CLIError(`version ${version} is not deployed in ${store.where} (no ${key})`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new CLIError(`${key} is not JSON`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CLIError(`${key} is invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (parsed.data.version !== version) throw new CLIError(`${key} names version ${parsed.data.version}`);
  return parsed.data;
}

/**
 * Checks a deployed version as the worker will load it (manifest valid, model.onnx with the
 * manifest's size and sha256), so a pointer never names a version the worker would refuse.
 * @throws CLIError naming the first problem
 */
export async function verifyVersion(store: RegistryStore, version: string): Promise<Manifest> {
  const manifest = await readManifest(store, version);
  const key = MODEL_KEYS.model(version);
  const bytes = await store.get(key);
  if (!bytes) throw new CLIError(`${key} is missing in ${store.where}`);
  const expected = manifest.files.model;
  if (bytes.byteLength !== expected.bytes) throw new CLIError(`${key} has ${bytes.byteLength} bytes, its manifest says ${expected.bytes}`);
  if (sha256Hex(bytes) !== expected.sha256) throw new CLIError(`${key} does not match the sha256 in its manifest`);
  return manifest;
}

/** A version as `list` shows it. */
export interface VersionEntry {
  version: string;
  /** Total bytes of its files. */
  bytes: number;
  /** When its last file was written. */
  uploaded: Date;
  /** Its manifest, or `null` with `problem` saying why it could not be read. */
  manifest: Manifest | null;
  problem: string | null;
}

/** Every version in the bucket, newest upload first. */
export async function listVersions(store: RegistryStore): Promise<VersionEntry[]> {
  const byVersion = new Map<string, StoredObject[]>();
  for (const object of await store.list('models/')) {
    const match = /^models\/([^/]+)\/.+$/.exec(object.key);
    if (!match) continue; // the pointers
    const files = byVersion.get(match[1]!) ?? [];
    files.push(object);
    byVersion.set(match[1]!, files);
  }
  const entries = await Promise.all(
    [...byVersion].map(async ([version, files]): Promise<VersionEntry> => {
      const entry = {
        version,
        bytes: files.reduce((sum, f) => sum + f.size, 0),
        uploaded: new Date(Math.max(...files.map((f) => f.uploaded.getTime()))),
      };
      try {
        return { ...entry, manifest: await readManifest(store, version), problem: null };
      } catch (error) {
        if (!(error instanceof CLIError)) throw error;
        return { ...entry, manifest: null, problem: error.message };
      }
    }),
  );
  return entries.sort((a, b) => b.uploaded.getTime() - a.uploaded.getTime() || (a.version < b.version ? 1 : -1));
}
