/** A consumer of EdgeGuard's package scoring in its own worker, with the model in its R2 bucket. */
import { Hono } from 'hono';
import { guard } from 'edgeguard/hono';
import { inProcess } from 'edgeguard/hono/in-process';
import { forwardChat } from './chat.ts';

type Env = { Bindings: { MODELS: R2Bucket; UPSTREAM_URL: string } };

const app = new Hono<Env>();

app.post('/v1/chat/completions', guard({ failMode: 'closed', scorer: inProcess(), moderateResponses: { every: 100 } }), forwardChat);

export default app;
