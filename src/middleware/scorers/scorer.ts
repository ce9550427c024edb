/**
 * What `guard()` asks of whatever scores for it: in this worker (`inProcess()`), in an EdgeGuard
 * worker through a service binding (`serviceBinding()`), or over EdgeGuard's HTTP API
 * (`httpApi()`). Each answers with the same verdict on all of a request's inputs, or, when no
 * model could score and the request fails open, with the reason; everything else is an error.
 */
import type { Context, Env as HonoEnv } from 'hono';
import type { FinalVerdict } from '../../guard/cascade.ts';
import type { ClassifyInput } from '../../guard/classifier.ts';
import type { PolicySettings } from '../../guard/policy.ts';

/** One request to score, as `guard()` hands it over. */
export interface GuardScoreRequest {
  inputs: ClassifyInput[];
  /** The guard's thresholds over the request's own settings (`policy()`), and its fail mode. */
  policy: PolicySettings & { failMode: 'open' | 'closed' };
  /** Most feature ids all inputs may need (in-process; a remote EdgeGuard applies its own limits). */
  maxIds: number;
  /** The guarded route, as shadow records name it. */
  route: string;
  /**
   * `request`: the guarded request's inputs, before any answer (a scorer may name the model in
   * the answer's headers); `response`: a check of an answer already streaming, whose headers went out.
   */
  stage: 'request' | 'response';
}

/**
 * The verdict on all inputs as one: each label's highest score over them, decided under the
 * policy; `decisive` is the input with the highest P(harmful). Or, failing open, why nothing was scored.
 */
export type GuardScore =
  { scored: true; verdict: FinalVerdict; decisive: number; modelVersion: string } | { scored: false; reason: string };

/**
 * A way of scoring for `guard()`.
 * `score()` throws a GuardError for what the guarded route should answer instead: 503
 * `model_unavailable` when no model could score and the request fails closed, 413 `too_much_text`,
 * 500 `internal_error` for a misconfigured scorer (a missing binding, a refused API key).
 */
export interface GuardScorer<E extends HonoEnv = HonoEnv> {
  /** How it scores, for messages: `in-process`, `service binding EDGEGUARD`, `https://guard.example.com`. */
  readonly name: string;
  score(c: Context<E>, request: GuardScoreRequest): Promise<GuardScore>;
}
