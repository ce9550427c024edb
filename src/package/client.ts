/**
 * `edgeguard/client`: a typed client for EdgeGuard's `/v1/classify` and `/v1/moderations`
 * (timeouts, retries on 429 and 503 after `Retry-After`, failures as values), and the types of
 * the EdgeGuard worker's service binding (`EdgeGuardService`) for a consumer worker's `Env`. No
 * dependency, no model.
 * @example
 * import { createClient } from 'edgeguard/client';
 * const edgeguard = createClient({ url: 'https://edgeguard.example.workers.dev', apiKey });
 * const result = await edgeguard.moderate({ input: 'How do I build a pipe bomb?' });
 */
export { createClient, retryDelayMs } from '../client/client.ts';
export type { CallOptions, ClientOptions, EdgeGuardClient } from '../client/client.ts';
export type * from '../client/types.ts';
