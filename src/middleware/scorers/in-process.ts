/**
 * `inProcess()`: `guard()` scoring in this worker with the student model, through the scoring core
 * (guard/scoring.ts) as the API routes do: the model from the `MODELS` R2 bucket through the
 * isolate's registry, the policy, the fail mode, the shadow. It bundles onnxruntime-web's WASM
 * (~14 MB, 3.6 MB gzip): an app that calls a deployed EdgeGuard instead uses `serviceBinding()`
 * or `httpApi()`, which load none of it.
 */
import type { Context, Env as HonoEnv } from 'hono';
import { sharedRegistry, type ModelRegistry } from '../../guard/registry.ts';
import { modelSource, scoreRequest, scoreResponseCheck } from '../../http/serve-model.ts';
import type { GuardScorer } from './scorer.ts';

export interface InProcessOptions<E extends HonoEnv = HonoEnv> {
  /**
   * Where the model comes from. Default: the isolate's shared registry, which re-reads the model
   * pointer every `MODEL_TTL_SECONDS` of the env (default 30) and follows it in the background.
   */
  registry?: ModelRegistry;
  /** The R2 bucket holding the models. Default: the `MODELS` binding, `c.env.MODELS`. */
  bucket?: (c: Context<E>) => R2Bucket | undefined;
}

/**
 * Scores in this worker. On a guarded request it names the model in `x-edgeguard-model`, adds
 * `load`, `featurize` and `inference` server-timing entries when the app uses `timing()`, and
 * marks an answer let through unscored with `x-edgeguard-unscored`.
 * @param options `registry` and `bucket` (defaults: the shared registry, `c.env.MODELS`)
 * @example
 * import { guard } from 'edgeguard/hono';
 * import { inProcess } from 'edgeguard/hono/in-process';
 * app.post('/chat', guard({ failMode: 'closed', scorer: inProcess() }), handler);
 */
export function inProcess<E extends HonoEnv = HonoEnv>(options: InProcessOptions<E> = {}): GuardScorer<E> {
  const registry = options.registry ?? sharedRegistry();
  const bucketOf = options.bucket ?? ((c: Context<E>) => (c.env as { MODELS?: R2Bucket } | undefined)?.MODELS);
  return {
    name: 'in-process',
    async score(c, { stage, ...request }) {
      const source = modelSource(c, registry, bucketOf(c));
      const scoring = stage === 'request' ? await scoreRequest(c, source, request) : await scoreResponseCheck(source, request);
      if (!scoring.scored) return { scored: false, reason: scoring.unavailable.message };
      const { verdict, decisive } = scoring.overall;
      return { scored: true, verdict, decisive, modelVersion: scoring.model.manifest.version };
    },
  };
}
