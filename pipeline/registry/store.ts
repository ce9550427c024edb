/**
 * The storage the registry commands write to: a few object operations that both targets (the
 * local R2 of `wrangler dev`, and Cloudflare R2 through its S3 API) provide. Everything above this
 * interface (deploy, promote, rollback, list) is written once, against it.
 */

/** One object as a listing reports it. */
export interface StoredObject {
  key: string;
  /** Bytes. */
  size: number;
  /** When it was written. */
  uploaded: Date;
}

/** An R2 bucket, local or remote. Failures of the storage itself are CLIErrors with one line. */
export interface RegistryStore {
  /** Where the objects live, for messages: "local R2 bucket edgeguard-models (.wrangler/state)". */
  readonly where: string;
  /** The object's bytes, or `null` when there is no such key. */
  get(key: string): Promise<Uint8Array | null>;
  /** Writes (or replaces) one object in one request: readers see the old or the new bytes, never a mix. */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /**
   * Writes one object only if no object has that key, in one conditional request the storage
   * decides atomically (S3 `If-None-Match: *`, R2 `onlyIf`): of two writers racing for a key, one
   * wins. False, with nothing written, when the key exists.
   */
  create(key: string, body: Uint8Array, contentType: string): Promise<boolean>;
  /** Deletes one object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Releases what the store holds (the local target runs a workerd process). */
  close(): Promise<void>;
}

/** The JSON bytes the registry writes: pretty, with a final newline, so a `get` reads well. */
export const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
