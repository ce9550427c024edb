/**
 * The worker's HTML pages (the playground, model reports) as responses: a strict
 * Content-Security-Policy that allows the page's own inline `<style>` and `<script>` by their
 * SHA-256 hashes and nothing else (no other origin, no eval, no framing, API calls to this origin
 * only), plus the usual hardening headers.
 */
import type { Context } from 'hono';

/** The inline style and script texts a page carries, exactly as they appear in it. */
export interface InlineSources {
  styles?: readonly string[];
  scripts?: readonly string[];
}

// One hash per text; the texts are the pages' constants, so this stays a handful of entries.
const hashes = new Map<string, Promise<string>>();

function hashSource(text: string): Promise<string> {
  let hash = hashes.get(text);
  if (!hash) {
    hash = crypto.subtle
      .digest('SHA-256', new TextEncoder().encode(text))
      .then((digest) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`);
    hashes.set(text, hash);
  }
  return hash;
}

/**
 * The Content-Security-Policy for a page with these inline sources.
 * @example await contentSecurityPolicy({ styles: [PLAYGROUND_STYLE], scripts: [PLAYGROUND_SCRIPT] })
 */
export async function contentSecurityPolicy(inline: InlineSources): Promise<string> {
  const list = async (texts: readonly string[] = []) => (await Promise.all(texts.map(hashSource))).join(' ');
  const [styles, scripts] = await Promise.all([list(inline.styles), list(inline.scripts)]);
  return [
    "default-src 'none'",
    scripts && `script-src ${scripts}`,
    styles && `style-src ${styles}`,
    'img-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * An HTML response with the page's CSP and hardening headers (merged with any set on `c`).
 * @param cacheControl default `no-cache` (revalidate each time)
 */
export async function htmlPage(c: Context, html: string, inline: InlineSources, cacheControl = 'no-cache'): Promise<Response> {
  c.header('content-security-policy', await contentSecurityPolicy(inline));
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', cacheControl);
  return c.html(html);
}
