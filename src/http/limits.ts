/** The API's limits. Each one has its own error code, so a client knows which it hit. */
import { z } from 'zod';

/** Largest request body, in bytes (413 `payload_too_large`). */
export const MAX_BODY_BYTES = 1 << 20;

/** Longest text (prompt, response or moderation input), in UTF-16 code units (400 `text_too_long`). */
export const MAX_TEXT_CHARS = 32_000;

/** Most texts per request: `items` of /v1/classify, `input` of /v1/moderations (400 `too_many_items`). */
export const MAX_ITEMS = 64;

/**
 * Most feature ids one API request may score (413 `too_much_text`), counted per row (window or
 * span) before anything is scored: the bound on the CPU a request can ask for. A prompt and
 * response pair scores every prompt window with every response window: it admits one pair of two
 * 32,000-character texts of prose (~6 M ids), not two. Prompts alone reach it only as many
 * maximal texts without sentence ends (0.44 M ids each with 2.0.2's spans: 19 fit); a 1 MiB body
 * of maximal prose texts (0.17 M ids each) fits.
 */
export const MAX_IDS_PER_REQUEST = 1 << 23;

/**
 * Most characters of all texts of one chat completion request together (413 `too_much_text`),
 * checked before any scoring. Every text is scored alone and the conversation once more as a
 * whole, so this bounds the guard's work on the chat route at twice its characters.
 */
export const MAX_CHAT_CHARS = 128_000;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The lone-surrogate check of TextSchema, for any string schema (`.superRefine(refuseLoneSurrogate)`):
 * the issue it adds answers 400 `lone_surrogate` through `validate()`.
 */
export function refuseLoneSurrogate(text: string, ctx: z.core.$RefinementCtx<string>): void {
  const at = LONE_SURROGATE.exec(text)?.index;
  if (at === undefined) return;
  const unit = text.charCodeAt(at).toString(16).toUpperCase();
  ctx.addIssue({
    code: 'custom',
    message: `contains a lone surrogate (U+${unit}) at index ${at}; send well-formed Unicode`,
    params: { code: 'lone_surrogate' },
  });
}

/**
 * One text of a request: not empty, at most MAX_TEXT_CHARS, and well-formed Unicode. A lone
 * surrogate (JSON's `"\ud800"`, a string cut inside an emoji) has no UTF-8 form and no meaning:
 * it is refused with 400 `lone_surrogate` rather than scored as something else. Everything else
 * is accepted and scored: zero-width and bidi controls (the featurizer removes them, so
 * "b\u200Bomb" scores as "bomb"), control characters, noncharacters, very long words (only their
 * first 40 characters make features).
 */
export const TextSchema = z.string().min(1, 'must not be empty').max(MAX_TEXT_CHARS).superRefine(refuseLoneSurrogate);
