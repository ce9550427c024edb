/**
 * GET /: the playground (src/playground/) for browsers, i.e. requests that accept `text/html`.
 * Any other client falls through to the JSON index (routes/health.ts), so `curl /` is unchanged.
 * Neither needs an API key: the page asks for one when the API answers 401.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import { htmlPage } from '../http/html-page.ts';
import { PLAYGROUND_HTML, PLAYGROUND_SCRIPT, PLAYGROUND_STYLE } from '../playground/page.ts';
import { REPORT_STYLE } from '../report/model-report.ts';

/** Whether the client asks for HTML (a browser navigating), not JSON or anything (`*\/*`). */
function wantsHtml(accept: string | undefined): boolean {
  return /(^|,)\s*(text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept ?? '');
}

/** Serves the playground at GET / to browsers; registered before the JSON index. */
export function createPlaygroundRoute() {
  return new Hono<AppEnv>().get('/', async (c, next) => {
    c.header('vary', 'accept');
    if (!wantsHtml(c.req.header('accept'))) return next();
    // the report's style too: with an API key the page writes the report into a tab of its own
    return htmlPage(c, PLAYGROUND_HTML, { styles: [PLAYGROUND_STYLE, REPORT_STYLE], scripts: [PLAYGROUND_SCRIPT] });
  });
}
