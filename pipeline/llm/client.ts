/**
 * The one client for OpenAI-compatible servers (vLLM, llama.cpp's server, Ollama, OpenAI, Workers
 * AI's REST API). Every request goes through the same path: answer cache, concurrency limit,
 * timeout, retries with backoff on 429/5xx/timeouts/network errors/malformed answers (honouring
 * the server's Retry-After, which also pauses every other request of this client), validation of
 * the answer with zod, and accounting of requests, retries and tokens.
 */
import type { z } from 'zod';
import { type AnswerCache, createAnswerCache, requestKey } from './cache.ts';
import { createLimiter } from './limiter.ts';
import { LlmError } from './llm-error.ts';
import {
  type ChatRequest,
  type ChatResponse,
  ChatResponseSchema,
  type CompletionRequest,
  type CompletionResponse,
  CompletionResponseSchema,
  type OllamaGenerateRequest,
  type OllamaGenerateResponse,
  OllamaGenerateResponseSchema,
  usageOf,
} from './protocol.ts';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffMs, isRetryableStatus, retryAfterMs } from './retry.ts';

/** How hard the client pushes a server unless told otherwise; the LLM stages' flags default to these too. */
export const CLIENT_DEFAULTS = { concurrency: 8, timeoutMs: 120_000, maxRetries: 5 } as const;

/** How to reach a server and how hard to push it. */
export interface LlmClientOptions {
  /** Base URL including the API prefix, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string | null;
  /** Requests in flight at once (default CLIENT_DEFAULTS). */
  concurrency?: number;
  /** Per attempt, in ms (default CLIENT_DEFAULTS). */
  timeoutMs?: number;
  /** Retries after the first attempt (default CLIENT_DEFAULTS). */
  maxRetries?: number;
  /** Answer cache folder; null or absent: no cache. */
  cacheDir?: string | null;
  backoff?: Partial<BackoffOptions>;
}

/** Counters since the client was made. `requests` counts HTTP attempts, retries included. */
export interface LlmStats {
  requests: number;
  succeeded: number;
  cacheHits: number;
  retries: number;
  rateLimited: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  /** Sum of wall time of successful attempts, ms. */
  latencyMs: number;
}

export interface LlmClient {
  /** POST /chat/completions. */
  chat(body: ChatRequest): Promise<ChatResponse>;
  /** POST /completions. */
  complete(body: CompletionRequest): Promise<CompletionResponse>;
  /** Ollama's native POST /api/generate (at the server's root, whatever the base URL's path). */
  ollamaGenerate(body: OllamaGenerateRequest): Promise<OllamaGenerateResponse>;
  /**
   * POSTs `body` to `path` (relative to the base URL; a leading `/` means the server's root) and
   * validates the JSON answer with `schema`.
   * @throws LlmError when the server refused, or transient failures outlasted the retries
   */
  post<S extends z.ZodType>(path: string, body: object, schema: S): Promise<z.infer<S>>;
  stats(): LlmStats;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const llm = createLlmClient({ baseUrl: 'http://127.0.0.1:8000/v1', cacheDir: 'runs/r1/cache' });
 * const answer = await llm.chat({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
 */
export function createLlmClient(options: LlmClientOptions): LlmClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs;
  const maxRetries = options.maxRetries ?? CLIENT_DEFAULTS.maxRetries;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const limit = createLimiter(options.concurrency ?? CLIENT_DEFAULTS.concurrency);
  const cache: AnswerCache | null = options.cacheDir ? createAnswerCache(options.cacheDir) : null;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const stats: LlmStats = {
    requests: 0,
    succeeded: 0,
    cacheHits: 0,
    retries: 0,
    rateLimited: 0,
    failed: 0,
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
  };
  // A 429 with a Retry-After pauses the whole client: the limit is the server's, not one request's.
  let pausedUntil = 0;

  const urlOf = (path: string) => (path.startsWith('/') ? new URL(path, `${base}/`).href : `${base}/${path}`);

  /** One HTTP attempt: the validated answer, or an LlmError saying whether to try again. */
  async function attempt<S extends z.ZodType>(
    url: string,
    payload: string,
    schema: S,
  ): Promise<{ value: z.infer<S>; raw: unknown } | { error: LlmError; hintMs: number | null }> {
    stats.requests++;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
      text = await response.text();
    } catch (cause) {
      const timedOut = (cause as Error).name === 'TimeoutError' || (cause as Error).name === 'AbortError';
      const message = timedOut ? `no answer within ${timeoutMs} ms` : `network error: ${(cause as Error).message}`;
      return {
        error: new LlmError(`${url}: ${message}`, { kind: timedOut ? 'timeout' : 'network', retryable: true, cause }),
        hintMs: null,
      };
    }
    if (!response.ok) {
      if (response.status === 429) stats.rateLimited++;
      const hintMs = retryAfterMs(response.headers);
      const retryable = isRetryableStatus(response.status);
      const error = new LlmError(`${url}: HTTP ${response.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`, {
        kind: 'http',
        status: response.status,
        retryable,
      });
      return { error, hintMs };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      return {
        error: new LlmError(`${url}: answer is not JSON: ${text.slice(0, 80)}`, { kind: 'malformed', retryable: true, cause }),
        hintMs: null,
      };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.join('.') || 'answer';
      return {
        error: new LlmError(`${url}: malformed answer: ${where}: ${issue.message}`, { kind: 'malformed', retryable: true }),
        hintMs: null,
      };
    }
    stats.latencyMs += performance.now() - started;
    return { value: parsed.data, raw: json };
  }

  async function post<S extends z.ZodType>(path: string, body: object, schema: S): Promise<z.infer<S>> {
    const key = cache ? requestKey(path, body) : '';
    if (cache) {
      const hit = await cache.get(key);
      if (hit !== undefined) {
        const parsed = schema.safeParse(hit);
        if (parsed.success) {
          stats.cacheHits++;
          return parsed.data;
        }
      }
    }
    const url = urlOf(path);
    const payload = JSON.stringify(body);
    return limit(async () => {
      for (let retry = 0; ; retry++) {
        const wait = pausedUntil - Date.now();
        if (wait > 0) await sleep(wait);
        const result = await attempt(url, payload, schema);
        if ('value' in result) {
          stats.succeeded++;
          const usage = usageOf(result.raw);
          stats.promptTokens += usage.prompt;
          stats.completionTokens += usage.completion;
          if (cache) await cache.set(key, { path, request: body, response: result.raw });
          return result.value;
        }
        const { error, hintMs } = result;
        if (!error.retryable || retry >= maxRetries) {
          stats.failed++;
          throw error;
        }
        stats.retries++;
        const delay = backoffMs(retry, hintMs, backoff);
        if (hintMs !== null) pausedUntil = Math.max(pausedUntil, Date.now() + delay);
        await sleep(delay);
      }
    });
  }

  return {
    chat: (body) => post('chat/completions', body, ChatResponseSchema),
    complete: (body) => post('completions', body, CompletionResponseSchema),
    ollamaGenerate: (body) => post('/api/generate', body, OllamaGenerateResponseSchema),
    post,
    stats: () => ({ ...stats }),
  };
}
