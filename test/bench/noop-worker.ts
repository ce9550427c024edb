/**
 * The load test's baseline: a Hono worker that does what EdgeGuard does around the model and
 * nothing else. It parses the same JSON body, answers in the same shape with fixed scores, and
 * logs one line per request as the guard's request log does (under `wrangler dev` a console.log
 * is carried to wrangler over the inspector and costs about a millisecond, more than scoring a
 * short text; without it here, that dev-only cost counted as the guard's), so
 * `npm run bench:load` can state the guard's cost as a ratio to it.
 */
import { Hono } from 'hono';

const app = new Hono();

app.get('/healthz', (c) => c.json({ status: 'ok', model: { version: 'noop' }, wasmMemoryBytes: null }));
app.post('/v1/classify', async (c) => {
  const started = performance.now();
  const body = (await c.req.json()) as { items?: unknown[] };
  const items = Array.isArray(body.items) ? body.items : [body];
  const scores = items.map(() => 0);
  const res = c.json({ model: { version: 'noop' }, results: scores.map((score) => ({ score, flagged: false, categories: {} })) });
  const record = { level: 'info', event: 'request', requestId: crypto.randomUUID(), method: 'POST', path: '/v1/classify', status: 200 };
  console.log(
    JSON.stringify({ ...record, key: null, model: 'noop', scores, latencyMs: Math.round((performance.now() - started) * 10) / 10 }),
  );
  return res;
});

export default app;
