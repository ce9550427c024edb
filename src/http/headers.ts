/**
 * EdgeGuard's own HTTP headers, apart from the scoring code that sets them, so a module that only
 * names them (CORS, the request log, `guard()` scoring remotely) does not load the model runtime.
 */

/** Header naming the model version on every response once a model is loaded; on a request, the version to pin. */
export const MODEL_HEADER = 'x-edgeguard-model';

/** Response header set on an unscored (failed-open) answer, so proxies and logs can see it. */
export const UNSCORED_HEADER = 'x-edgeguard-unscored';

/** The header carrying the request id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';
