/**
 * `serviceBinding()`: `guard()` scoring in a deployed EdgeGuard worker through a service binding
 * (`[[services]] binding = "EDGEGUARD", service = "edgeguard"` in the app's wrangler.toml): RPC to
 * its `classify`, no network hop, no API key. The guard's thresholds and fail mode go with each
 * call as its policy, so the verdict is the one `inProcess()` would give with the same model.
 */
import type { Context, Env as HonoEnv } from 'hono';
import type { EdgeGuardRpc } from '../../client/types.ts';
import { GuardError } from '../../errors.ts';
import { scoreRemotely } from './remote.ts';
import type { GuardScorer } from './scorer.ts';

/**
 * Scores through the service binding named `binding` in the app's env, or the one a function
 * returns. A missing binding is a 500 `internal_error` (the app's misconfiguration, never failed
 * open); a binding that throws (EdgeGuard not deployed, over its limits) is a model that cannot
 * score: the guard's fail mode decides.
 * @param binding the binding's name (default `EDGEGUARD`), or `(c) => c.env.SOME_BINDING`
 * @example
 * import { guard, serviceBinding } from 'edgeguard/hono';
 * app.post('/chat', guard({ failMode: 'closed', scorer: serviceBinding('EDGEGUARD') }), handler);
 */
export function serviceBinding<E extends HonoEnv = HonoEnv>(
  binding: string | ((c: Context<E>) => Pick<EdgeGuardRpc, 'classify'> | undefined) = 'EDGEGUARD',
): GuardScorer<E> {
  const name = typeof binding === 'string' ? `service binding ${binding}` : 'service binding';
  const bindingOf =
    typeof binding === 'string'
      ? (c: Context<E>) => (c.env as Record<string, Pick<EdgeGuardRpc, 'classify'> | undefined> | undefined)?.[binding]
      : binding;
  return {
    name,
    async score(c, request) {
      const service = bindingOf(c);
      if (typeof service?.classify !== 'function') {
        throw new GuardError(
          500,
          'internal_error',
          `the guard is misconfigured: no EdgeGuard ${name} in the worker's env (add [[services]] to its wrangler.toml)`,
        );
      }
      const policy = { ...request.policy, categoryThresholds: request.policy.categoryThresholds ?? {} };
      return scoreRemotely(
        (items) =>
          // a streamed answer's checks are not shadowed: one R2 write each
          service.classify({ items }, { policy, shadow: request.stage === 'request' }).catch((error: unknown) => ({
            ok: false as const,
            error: { status: null, code: 'network_error' as const, message: `the call failed: ${(error as Error)?.message ?? error}` },
          })),
        request,
        name,
      );
    },
  };
}
