/**
 * The load test's baseline: a Hono worker that does what EdgeGuard does around the model and
 * nothing else. It parses the same JSON body and answers in the same shape with fixed scores,
 * so `npm run bench:load` can state the guard's cost as a ratio to it.
 */
import { Hono } from 'hono';

const app = new Hono();

app.get('/healthz', (c) => c.json({ status: 'ok', model: { version: 'noop' }, wasmMemoryBytes: null }));
app.post('/v1/classify', async (c) => {
  const body = (await c.req.json()) as { items?: unknown[] };
  const items = Array.isArray(body.items) ? body.items : [body];
  return c.json({ model: { version: 'noop' }, results: items.map(() => ({ score: 0, flagged: false, categories: {} })) });
});

export default app;
