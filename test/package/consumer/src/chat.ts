/** The app's own chat handler: the chat request guard() checked, forwarded to its model as is (streams included). */
import type { Context } from 'hono';

export function forwardChat<E extends { Bindings: { UPSTREAM_URL: string } }>(c: Context<E>): Promise<Response> {
  return fetch(`${c.env.UPSTREAM_URL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(c.var.chatRequest),
  });
}
