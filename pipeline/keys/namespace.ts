/**
 * The KV namespace the `keys` commands write API key records to: a few operations that both
 * targets (the local KV of `wrangler dev`, and Cloudflare KV through its REST API) provide. The
 * commands are written once, against this interface.
 */

/** A KV namespace, local or remote. Failures of the storage itself are CLIErrors with one line. */
export interface KeyNamespace {
  /** Where the records live, for messages: "local KV namespace API_KEYS (.wrangler/state)". */
  readonly where: string;
  /** The value, or `null` when there is no such key. */
  get(key: string): Promise<string | null>;
  /** Writes (or replaces) one value. */
  put(key: string, value: string): Promise<void>;
  /** Deletes one key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key name that starts with `prefix`, in key order. */
  list(prefix: string): Promise<string[]>;
  /** Releases what the namespace holds (the local target runs a workerd process). */
  close(): Promise<void>;
}
