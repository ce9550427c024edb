/**
 * Request bodies at the edge: the content type, the size limit, JSON parsing and zod validation,
 * each failing with its own 4xx code. Never a 500 for bad input.
 */
import type { Context, Env as HonoEnv } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { GuardError } from '../errors.ts';
import { MAX_BODY_BYTES } from './limits.ts';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;

function tooLarge(maxBytes: number): GuardError {
  return new GuardError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes`);
}

/**
 * Middleware that refuses bodies over `maxBytes`: by `content-length` before reading anything,
 * else by counting while the body streams in.
 * @param maxBytes default MAX_BODY_BYTES (1 MiB)
 */
export function limitBody(maxBytes = MAX_BODY_BYTES) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
}

/**
 * Reads the body as JSON, which must be UTF-8 (RFC 8259): bytes that are not UTF-8 are refused,
 * not replaced with U+FFFD and scored as something the caller did not send. Hono caches the
 * body, so a later `c.req.json()` or `c.req.text()` (by the guarded handler, say) still works.
 * @param maxBytes checked against `content-length` (default MAX_BODY_BYTES)
 * @throws GuardError 415 unsupported_media_type (not JSON, or a charset other than UTF-8),
 *   413 payload_too_large, 400 invalid_utf8, 400 invalid_json
 */
export async function readJson<E extends HonoEnv>(c: Context<E>, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!JSON_TYPE.test(type)) {
    throw new GuardError(
      415,
      'unsupported_media_type',
      `send a JSON body with content-type: application/json (got '${type.slice(0, 100) || 'none'}')`,
    );
  }
  const charset = CHARSET.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new GuardError(415, 'unsupported_media_type', `JSON must be UTF-8 (got charset=${charset.slice(0, 40)})`);
  }
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(await c.req.arrayBuffer());
  } catch (error) {
    if (error instanceof GuardError) throw error;
    throw new GuardError(400, 'invalid_utf8', 'request body is not valid UTF-8', { cause: error });
  }
  if (text.trim() === '') throw new GuardError(400, 'invalid_json', 'request body is empty');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GuardError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/**
 * The issue to report: inside a union (`string | parts[]`), the issue of the one option whose
 * type the value has (`content[0].type: ...` rather than the union's own message), when exactly
 * one option got past the type check.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  while (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const typed = issue.errors.filter(
      (issues) => !(issues.length === 1 && issues[0]!.code === 'invalid_type' && issues[0]!.path.length === 0),
    );
    if (typed.length !== 1 || typed[0]!.length === 0) break;
    const inner: z.core.$ZodIssue = typed[0]![0]!;
    issue = { ...inner, path: [...issue.path, ...inner.path] };
  }
  return issue;
}

/**
 * Validates `value` with `schema`; the first issue becomes one 400 naming the field
 * (`items[3].prompt: ...`, `messages[0].contents: unknown field`). Over-long strings answer
 * `text_too_long`, over-long arrays `too_many_items`, texts with a lone surrogate
 * `lone_surrogate`, content the guard cannot read (an image) `unsupported_content`, anything else
 * `invalid_request`.
 * @param at path prefix for the message (e.g. 'input')
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, at: readonly PropertyKey[] = []): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = innermost(result.error.issues[0]!);
  const where = pathOf([...at, ...issue.path]) || 'body';
  if (issue.code === 'too_big' && issue.origin === 'string') {
    throw new GuardError(400, 'text_too_long', `${where}: longer than ${issue.maximum} characters`);
  }
  if (issue.code === 'too_big' && issue.origin === 'array') {
    throw new GuardError(400, 'too_many_items', `${where}: more than ${issue.maximum} items`);
  }
  if (issue.code === 'custom' && issue.params?.code === 'lone_surrogate') {
    throw new GuardError(400, 'lone_surrogate', `${where}: ${issue.message}`);
  }
  if (issue.code === 'custom' && issue.params?.code === 'unsupported_content') {
    throw new GuardError(400, 'unsupported_content', `${where}: ${issue.message}`);
  }
  if (issue.code === 'unrecognized_keys') {
    throw new GuardError(400, 'invalid_request', `${pathOf([...at, ...issue.path, issue.keys[0]!.slice(0, 64)])}: unknown field`);
  }
  throw new GuardError(400, 'invalid_request', `${where}: ${issue.message}`);
}
