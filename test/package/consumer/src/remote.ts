/**
 * A consumer of EdgeGuard's package scoring in a deployed EdgeGuard worker: guard() through the
 * service binding and over HTTP (each also checking streamed answers), and the typed client.
 */
import { Hono } from 'hono';
import { createClient, type EdgeGuardService } from 'edgeguard/client';
import { guard, httpApi, serviceBinding } from 'edgeguard/hono';
import { forwardChat } from './chat.ts';

type Env = { Bindings: { EDGEGUARD: EdgeGuardService; EDGEGUARD_URL: string; EDGEGUARD_KEY: string; UPSTREAM_URL: string } };

const app = new Hono<Env>();

const viaBinding = serviceBinding<Env>('EDGEGUARD');
const overHttp = httpApi<Env>({ url: (c) => c.env.EDGEGUARD_URL, apiKey: (c) => c.env.EDGEGUARD_KEY });

app.post('/binding/v1/chat/completions', guard({ failMode: 'closed', scorer: viaBinding, moderateResponses: { every: 100 } }), forwardChat);
app.post('/http/v1/chat/completions', guard({ failMode: 'closed', scorer: overHttp, moderateResponses: { every: 100 } }), forwardChat);

// the same handler unguarded: the baseline the guard's overheads are measured against (npm run bench:consumer)
app.post('/plain/v1/chat/completions', forwardChat);

// the binding's RPC and the HTTP client, called directly
app.post('/binding/classify', async (c) => c.json(await c.env.EDGEGUARD.classify(await c.req.json())));
app.post('/client/moderate', async (c) => {
  const edgeguard = createClient({ url: c.env.EDGEGUARD_URL, apiKey: c.env.EDGEGUARD_KEY });
  return c.json(await edgeguard.moderate(await c.req.json()));
});

export default app;
