/**
 * The load test's baseline: a Hono worker that does what EdgeGuard does around the model and
 * nothing else. It parses the same JSON body, answers in the same shape with fixed scores (every
 * category of every item with its score and flag, and the policy block, so the answer is as long
 * as the guard's: about 0.9 KB per text), and logs one line per request as the guard's request log
 * does (under `wrangler dev` a console.log is carried to wrangler over the inspector and costs
 * about a millisecond, more than scoring a short text; without it here, that dev-only cost counted
 * as the guard's), so `npm run bench:load` can state the guard's cost as a ratio to it.
 */
import { Hono } from 'hono';
import manifest from '../../model/manifest.json' with { type: 'json' };

/** The shipped model's reported categories: its OpenAI-mapped labels after the overall one. */
const CATEGORIES = Object.keys(manifest.openaiCategories).filter((label) => label !== manifest.labels[0]);
/** A score as the guard writes one: a float32 probability printed as a double. */
const SCORE = 0.00004684925079345703;
const POLICY = { threshold: manifest.threshold, categoryThresholds: manifest.categoryThresholds, failMode: 'closed', source: 'model' };

const app = new Hono();

app.get('/healthz', (c) => c.json({ status: 'ok', model: { version: 'noop' }, wasmMemoryBytes: null }));
app.post('/v1/classify', async (c) => {
  const started = performance.now();
  const body = (await c.req.json()) as { items?: unknown[] };
  const items = Array.isArray(body.items) ? body.items : [body];
  const scores = items.map(() => SCORE);
  const results = scores.map((score) => ({
    score,
    flagged: false,
    categories: Object.fromEntries(CATEGORIES.map((label) => [label, { score, flagged: false }])),
    decidedBy: 'student',
  }));
  const res = c.json({ model: { version: 'noop' }, results, policy: POLICY });
  const record = { level: 'info', event: 'request', requestId: crypto.randomUUID(), method: 'POST', path: '/v1/classify', status: 200 };
  console.log(
    JSON.stringify({
      ...record,
      key: null,
      model: 'noop',
      scores: scores.map((s) => Math.round(s * 10_000) / 10_000),
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    }),
  );
  return res;
});

export default app;
