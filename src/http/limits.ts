/** The API's limits. Each one has its own error code, so a client knows which it hit. */
import { z } from 'zod';

/** Largest request body, in bytes (413 `payload_too_large`). */
export const MAX_BODY_BYTES = 1 << 20;

/** Longest text (prompt, response or moderation input), in UTF-16 code units (400 `text_too_long`). */
export const MAX_TEXT_CHARS = 32_000;

/** Most texts per request: `items` of /v1/classify, `input` of /v1/moderations (400 `too_many_items`). */
export const MAX_ITEMS = 64;

/**
 * Most feature ids one API request may score (413 `too_much_text`): the bound on the CPU a request
 * can ask for. Texts alone never reach it (a 1 MiB body is at most ~4 M ids), but a prompt and
 * response pair scores every prompt window with every response window: it admits one pair of two
 * 32,000-character texts (~6 M ids), not two.
 */
export const MAX_IDS_PER_REQUEST = 1 << 23;

/** One text of a request: not empty, at most MAX_TEXT_CHARS. */
export const TextSchema = z.string().min(1, 'must not be empty').max(MAX_TEXT_CHARS);
