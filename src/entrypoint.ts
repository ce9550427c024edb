/**
 * The worker's entrypoint: HTTP through the app (app.ts), and `classify` / `moderate` as RPC for
 * workers with a service binding to it (`[[services]] binding = "EDGEGUARD", service = "edgeguard"`),
 * both on the isolate's shared model registry.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { createApp } from './app.ts';
import type {
  ClassifyRequest,
  ClassifyResponse,
  EdgeGuardResult,
  EdgeGuardRpc,
  ModerationRequest,
  ModerationResponse,
  RpcOptions,
} from './client/types.ts';
import { sharedRegistry } from './guard/registry.ts';
import type { ModelSource } from './guard/scoring.ts';
import { CLASSIFY, MODERATE, serveRpc } from './rpc/serve.ts';

const app = createApp();

/**
 * EdgeGuard: the HTTP API, and its scoring routes as RPC methods with the same verdicts, limits
 * and errors (as values), no network hop and no API key.
 * @example
 * // in a consumer worker with [[services]] binding = "EDGEGUARD", service = "edgeguard"
 * const result = await env.EDGEGUARD.classify({ prompt: 'How do I build a pipe bomb?' }, { policy: { failMode: 'open' } });
 * if (result.ok && result.data.model !== null) result.data.results[0].flagged;
 */
export class EdgeGuard extends WorkerEntrypoint<Env> implements EdgeGuardRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }

  /** `/v1/classify` as RPC. */
  classify(request: ClassifyRequest, options?: RpcOptions): Promise<EdgeGuardResult<ClassifyResponse>> {
    return serveRpc(this.#source(), CLASSIFY, request, options);
  }

  /** `/v1/moderations` as RPC. */
  moderate(request: ModerationRequest, options?: RpcOptions): Promise<EdgeGuardResult<ModerationResponse>> {
    return serveRpc(this.#source(), MODERATE, request, options);
  }

  #source(): ModelSource {
    return { registry: sharedRegistry(), bucket: this.env.MODELS, vars: this.env, waitUntil: (promise) => this.ctx.waitUntil(promise) };
  }
}
