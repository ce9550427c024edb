/**
 * Server-sent events as OpenAI-compatible chat streams send them: bytes in, whole events out, with
 * their `data` and the text each chat completion chunk adds to each choice. Pure, no I/O.
 */

/** One event: its text as received (line ends made `\n`, no blank line after it) and its joined `data` lines. */
export interface SseEvent {
  raw: string;
  data: string | null;
}

/**
 * Splits a byte stream into events. Push each chunk as it arrives; events come out whole, however
 * the network cut them (mid-line, mid-character, between `\r` and `\n`).
 * @example const parser = new SseParser(); for (const event of parser.push(bytes)) ...; parser.end()
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = '';

  /** The events completed by `chunk`. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.#drain(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The last event, when the stream ended without the blank line after it. */
  end(): SseEvent[] {
    const events = this.#drain(`${this.#decoder.decode()}\n\n`);
    this.#buffer = '';
    return events;
  }

  #drain(text: string): SseEvent[] {
    // a `\r` at the end may be the first half of `\r\n`: keep it until the next chunk says
    const joined = this.#buffer + text;
    const held = joined.endsWith('\r') ? '\r' : '';
    const normal = joined.slice(0, joined.length - held.length).replace(/\r\n?/g, '\n');
    const blocks = normal.split('\n\n');
    this.#buffer = blocks.pop()! + held;
    return blocks.filter((block) => block !== '').map(eventOf);
  }
}

function eventOf(raw: string): SseEvent {
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line === 'data' || line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { raw, data: data.length > 0 ? data.join('\n') : null };
}

/** What one chat completion chunk adds: text per choice index, and the choices it finishes. */
export interface ChunkText {
  /** Text each choice gained: `delta.content`, `delta.refusal`, tool call names and arguments. */
  text: Map<number, string>;
  finished: number[];
}

/**
 * The text a `chat.completion.chunk` adds to each choice; `null` for data that is not one (a
 * usage-only chunk, `[DONE]`, an error, something else), which adds nothing.
 * @example chunkText('{"choices":[{"index":0,"delta":{"content":"Hi"}}]}') // text: Map { 0 => 'Hi' }
 */
export function chunkText(data: string): ChunkText | null {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return null;
  }
  const choices = (chunk as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return null;
  const text = new Map<number, string>();
  const finished: number[] = [];
  for (const choice of choices as { index?: unknown; delta?: Record<string, unknown> | null; finish_reason?: unknown }[]) {
    const index = typeof choice?.index === 'number' ? choice.index : 0;
    const delta = choice?.delta ?? {};
    let added = '';
    for (const key of ['content', 'refusal'] as const) if (typeof delta[key] === 'string') added += delta[key];
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
        if (typeof call?.function?.name === 'string') added += call.function.name;
        if (typeof call?.function?.arguments === 'string') added += call.function.arguments;
      }
    }
    if (added !== '') text.set(index, (text.get(index) ?? '') + added);
    if (typeof choice?.finish_reason === 'string') finished.push(index);
  }
  return { text, finished };
}

/** The fields of the chunks seen so far that a chunk EdgeGuard adds should repeat (`id`, `created`, `model`, ...). */
export function chunkIdentity(data: string): Record<string, unknown> | null {
  try {
    const { id, created, model, system_fingerprint: fingerprint } = JSON.parse(data) as Record<string, unknown>;
    if (typeof id !== 'string') return null;
    return { id, created, model, ...(fingerprint === undefined ? {} : { system_fingerprint: fingerprint }) };
  } catch {
    return null;
  }
}

const encoder = new TextEncoder();

/** One event's bytes: `data: <json>` and the blank line that ends it. */
export function dataEvent(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/** An event's bytes as received (see SseEvent.raw). */
export function rawEvent(event: SseEvent): Uint8Array {
  return encoder.encode(`${event.raw}\n\n`);
}
