/**
 * Serialised appends to one JSONL file. Stages write rows as they complete, from many concurrent
 * tasks; `appendJsonl` checks and repairs the file's end before writing, which is only safe when
 * no other append to that file is in flight, so every append goes through one promise chain.
 */
import { appendJsonl } from './jsonl.ts';

export interface Appender {
  /** Appends rows; resolves once they are on disk. */
  append(...rows: unknown[]): Promise<void>;
}

/** @example const out = createAppender('runs/r1/prompts.jsonl'); await out.append(row); */
export function createAppender(path: string): Appender {
  let tail: Promise<void> = Promise.resolve();
  return {
    append(...rows) {
      const next = tail.then(() => appendJsonl(path, rows));
      tail = next.catch(() => undefined); // one failed write must not block the others
      return next;
    },
  };
}
