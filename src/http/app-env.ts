/** The Hono environment of the worker: the bindings `wrangler types` generated (src/env.d.ts). */
export type AppEnv = { Bindings: Env };
