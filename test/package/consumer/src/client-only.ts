/** A consumer of EdgeGuard's package that only calls its HTTP API with the typed client. */
import { createClient } from 'edgeguard/client';

interface Env {
  EDGEGUARD_URL: string;
  EDGEGUARD_KEY: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const edgeguard = createClient({ url: env.EDGEGUARD_URL, apiKey: env.EDGEGUARD_KEY });
    const result = await edgeguard.classify({ prompt: await request.text() });
    if (!result.ok) return Response.json(result.error, { status: result.error.status ?? 502 });
    const flagged = result.data.model !== null && result.data.results[0]!.flagged;
    return new Response(flagged ? 'refused' : 'ok', { status: flagged ? 403 : 200 });
  },
} satisfies ExportedHandler<Env>;
