/**
 * The remote target: a Workers KV namespace through Cloudflare's REST API
 * (`/accounts/<account>/storage/kv/namespaces/<namespace>/...`, as `wrangler kv` uses it), with an
 * API token that may edit Workers KV. Tests point it at a local fake with `apiBase`.
 */
import { CLIError } from '../errors.ts';
import type { KeyNamespace } from './namespace.ts';

/** Cloudflare's API root; CLOUDFLARE_API_BASE_URL overrides it (as for wrangler). */
export const CLOUDFLARE_API_BASE = 'https://api.cloudflare.com/client/v4';

export interface CloudflareKvOptions {
  accountId: string;
  namespaceId: string;
  /** An API token with "Workers KV Storage: Edit". */
  apiToken: string;
  /** Default CLOUDFLARE_API_BASE. */
  apiBase?: string;
  /** Retries of a 5xx or 429 answer, with exponential backoff from 200 ms. Default 3. */
  retries?: number;
}

interface Envelope<T> {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: T;
  result_info?: { cursor?: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens a KV namespace through the REST API. Nothing is contacted until the first call.
 * @throws CLIError on any request Cloudflare refuses or that cannot reach it, with Cloudflare's
 *   error code and message (e.g. `403 [10000] Authentication error`)
 * @example
 * const kv = createCloudflareKv({ accountId, namespaceId, apiToken: process.env.CLOUDFLARE_API_TOKEN! });
 */
export function createCloudflareKv(options: CloudflareKvOptions): KeyNamespace {
  const base = `${(options.apiBase ?? CLOUDFLARE_API_BASE).replace(/\/+$/, '')}/accounts/${encodeURIComponent(options.accountId)}/storage/kv/namespaces/${encodeURIComponent(options.namespaceId)}`;
  const retries = options.retries ?? 3;
  const value = (key: string) => `${base}/values/${encodeURIComponent(key)}`;

  async function call(method: string, url: string, body?: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: { authorization: `Bearer ${options.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'text/plain' }) },
          body,
        });
      } catch (error) {
        if (attempt < retries) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new CLIError(`Cloudflare KV: ${method} failed: ${(error as Error).message}`, { cause: error });
      }
      if ((response.status === 429 || response.status >= 500) && attempt < retries) {
        await response.body?.cancel();
        await sleep(200 * 2 ** attempt);
        continue;
      }
      return response;
    }
  }

  async function failure(response: Response, what: string): Promise<CLIError> {
    const text = await response.text();
    let detail = text.slice(0, 200);
    try {
      const envelope = JSON.parse(text) as Envelope<unknown>;
      const first = envelope.errors?.[0];
      if (first) detail = `[${first.code ?? '?'}] ${first.message ?? ''}`;
    } catch {
      // not JSON: keep the text
    }
    return new CLIError(`Cloudflare KV: ${what} answered ${response.status} ${detail}`.trim());
  }

  return {
    where: `Cloudflare KV namespace ${options.namespaceId}`,
    async get(key) {
      const response = await call('GET', value(key));
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) throw await failure(response, `reading ${key}`);
      return response.text();
    },
    async put(key, body) {
      const response = await call('PUT', value(key), body);
      if (!response.ok) throw await failure(response, `writing ${key}`);
      await response.body?.cancel();
    },
    async delete(key) {
      const response = await call('DELETE', value(key));
      if (!response.ok && response.status !== 404) throw await failure(response, `deleting ${key}`);
      await response.body?.cancel();
    },
    async list(prefix) {
      const names: string[] = [];
      let cursor = '';
      do {
        const query = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
        const response = await call('GET', `${base}/keys?${query}`);
        if (!response.ok) throw await failure(response, 'listing keys');
        const page = (await response.json()) as Envelope<{ name: string }[]>;
        names.push(...(page.result ?? []).map((k) => k.name));
        cursor = page.result_info?.cursor ?? '';
      } while (cursor);
      return names.sort();
    },
    close: async () => {},
  };
}
