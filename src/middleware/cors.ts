/**
 * `corsFromEnv()`: CORS only when the operator asks for it. `CORS_ORIGINS` (wrangler.toml
 * [vars]) lists the browser origins allowed to call the API, comma-separated, or `*` for any;
 * empty (the default) sends no CORS headers at all, so browsers refuse cross-origin calls.
 */
import type { Env as HonoEnv, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { MODEL_HEADER, REQUEST_ID_HEADER } from '../http/headers.ts';

const ALLOW_HEADERS = ['authorization', 'content-type', REQUEST_ID_HEADER, MODEL_HEADER];
const EXPOSE_HEADERS = [REQUEST_ID_HEADER, MODEL_HEADER, 'retry-after', 'server-timing'];

/** The origins of a `CORS_ORIGINS` value: `*`, or exact origins such as `https://app.example.com`. */
export function parseOrigins(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((origin) => origin.replace(/\/+$/, ''))
    .filter((origin) => origin === '*' || URL.canParse(origin));
}

/**
 * CORS for the origins in `c.env.CORS_ORIGINS`; nothing when it is empty.
 * @example app.use(corsFromEnv());   // wrangler.toml: CORS_ORIGINS = "https://app.example.com"
 */
export function corsFromEnv<E extends HonoEnv = HonoEnv>(): MiddlewareHandler<E> {
  const byValue = new Map<string, MiddlewareHandler>();

  return async function corsMiddleware(c, next) {
    const value = ((c.env as { CORS_ORIGINS?: string } | undefined)?.CORS_ORIGINS ?? '').trim();
    if (!value) return next();
    let handler = byValue.get(value);
    if (!handler) {
      const origins = parseOrigins(value);
      handler = cors({
        origin: origins.includes('*') ? '*' : origins,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ALLOW_HEADERS,
        exposeHeaders: EXPOSE_HEADERS,
        maxAge: 600,
      });
      byValue.set(value, handler);
    }
    return handler(c, next);
  };
}
