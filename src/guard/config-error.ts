/**
 * The one error for a worker whose configuration is wrong: a var of wrangler.toml `[vars]` (or a
 * secret) set to something the worker cannot use. The operator's mistake, never the caller's:
 * each surface answers it as a 500 `internal_error` naming the var.
 */

/** A worker var is set to something out of range or malformed; the message names it. */
export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}
