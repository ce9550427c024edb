/**
 * `requestLog()`: a request id on every response (`x-request-id`: the caller's when well formed,
 * else a new UUID) and one structured log line per request (console.log JSON, which Workers Logs
 * indexes): id, method, path, status, error code, key name, model version, P(harmful) per text,
 * latency. Never the texts: a request's content stays out of the logs.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import { GuardError } from '../errors.ts';

/** The header carrying the request id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller may send as its own id: 1-128 of letters, digits and `._:-`, no spaces. */
const WELL_FORMED_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id, as sent back in `x-request-id`. */
    requestId: string;
    /** P(harmful) of each scored text, for the log (set by the scoring routes). */
    scores: number[];
  }
}

/** One request's log record; `scores` only when texts were scored. */
export interface RequestLogRecord {
  level: 'info' | 'error';
  event: 'request';
  requestId: string;
  method: string;
  path: string;
  status: number;
  /** The error code of a failed request. */
  error?: string;
  /** The API key's name; `null` when the API runs open or the key was refused. */
  key: string | null;
  /** The model version that served it, when one did. */
  model: string | null;
  scores?: number[];
  latencyMs: number;
}

const round = (score: number) => Math.round(score * 10_000) / 10_000;

/** The code of an error thrown while handling the request (4xx answered with c.json carry none). */
function errorCodeOf(c: Context): string | undefined {
  if (!c.error) return undefined;
  return c.error instanceof GuardError ? c.error.code : 'internal_error';
}

/**
 * Tags every request with an id and logs it when it is answered.
 * @param options.log where records go (default: console.log of the JSON)
 * @example app.use(requestLog());
 */
export function requestLog<E extends HonoEnv = HonoEnv>(options: { log?: (record: RequestLogRecord) => void } = {}): MiddlewareHandler<E> {
  const log = options.log ?? ((record: RequestLogRecord) => console.log(JSON.stringify(record)));

  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const offered = c.req.header(REQUEST_ID_HEADER);
    const requestId = offered && WELL_FORMED_ID.test(offered) ? offered : crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const scores = c.get('scores');
    const error = errorCodeOf(c);
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      event: 'request',
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ...(error ? { error } : {}),
      key: c.get('apiKey')?.name ?? null,
      model: c.res.headers.get('x-edgeguard-model'),
      ...(scores ? { scores: scores.map(round) } : {}),
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
