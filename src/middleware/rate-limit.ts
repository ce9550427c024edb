/**
 * `rateLimit()`: requests per API key with Workers' rate-limiting binding. A key's tier
 * (`standard`, `high`, `unlimited`) picks the `[[ratelimits]]` binding of wrangler.toml that
 * counts its requests; over the limit is 429 `rate_limited` with `Retry-After`. The API running
 * open (no key configured) is not limited: configure keys to get limits.
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import type { RateLimitTier } from '../auth/key-record.ts';
import { GuardError } from '../errors.ts';

/** The window of every `[[ratelimits]]` binding in wrangler.toml (`period = 60`), in seconds. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/** The binding that counts each limited tier. */
export const RATE_LIMIT_BINDINGS = {
  standard: 'RATE_LIMIT_STANDARD',
  high: 'RATE_LIMIT_HIGH',
} as const satisfies Record<Exclude<RateLimitTier, 'unlimited'>, string>;

export interface RateLimitOptions<E extends HonoEnv = HonoEnv> {
  /** The limiter of a tier. Default: the tier's binding of `RATE_LIMIT_BINDINGS` in `c.env`. */
  limiter?: (c: Context<E>, tier: keyof typeof RATE_LIMIT_BINDINGS) => RateLimit | undefined;
}

/**
 * Limits each key (from `apiKeyAuth()`, which must run first) to its tier's rate.
 * A limiter that is missing or fails lets the request through and logs it: the limit protects
 * capacity, and an outage of the counter should not take the API down with it.
 * @param options where the limiters come from (default: the env bindings)
 * @throws GuardError 429 rate_limited, with `Retry-After` (the period, 60 s)
 * @example
 * app.use('/v1/*', apiKeyAuth(), rateLimit());
 */
export function rateLimit<E extends HonoEnv = HonoEnv>(options: RateLimitOptions<E> = {}): MiddlewareHandler<E> {
  const limiterOf =
    options.limiter ??
    ((c: Context<E>, tier: keyof typeof RATE_LIMIT_BINDINGS) =>
      (c.env as Record<string, RateLimit | undefined> | undefined)?.[RATE_LIMIT_BINDINGS[tier]]);

  return async function rateLimitMiddleware(c, next) {
    const key = c.var.apiKey;
    if (!key || key.settings.rateLimit === 'unlimited') return next();
    const tier = key.settings.rateLimit;
    const limiter = limiterOf(c, tier);
    let allowed = true;
    try {
      if (!limiter) throw new Error(`no ${RATE_LIMIT_BINDINGS[tier]} binding`);
      allowed = (await limiter.limit({ key: key.id })).success;
    } catch (error) {
      console.error(
        JSON.stringify({
          level: 'error',
          event: 'rate_limiter_failed',
          key: key.name,
          tier,
          message: (error as Error)?.message ?? String(error),
        }),
      );
    }
    if (!allowed) {
      throw new GuardError(
        429,
        'rate_limited',
        `API key '${key.name}' is over its ${tier} rate limit; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`,
        {
          headers: { 'retry-after': String(RATE_LIMIT_PERIOD_SECONDS) },
        },
      );
    }
    return next();
  };
}
