/**
 * A stand-in for Cloudflare's KV REST API on 127.0.0.1 (an ephemeral port): the four calls the
 * `keys` commands make (value GET/PUT/DELETE, keys listing with a cursor), Cloudflare's JSON
 * envelopes and errors, and a bearer token check. Pages of `pageSize` keys exercise the cursor.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCloudflareKv {
  /** The API root to set as CLOUDFLARE_API_BASE_URL. */
  base: string;
  accountId: string;
  namespaceId: string;
  token: string;
  /** The namespace's contents. */
  values: Map<string, string>;
  /** Every request, as `METHOD path`. */
  requests: string[];
  stop(): Promise<void>;
}

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

/** Starts the fake. */
export async function startFakeCloudflareKv(options: { pageSize?: number } = {}): Promise<FakeCloudflareKv> {
  const pageSize = options.pageSize ?? 2;
  const accountId = '0123456789abcdef0123456789abcdef';
  const namespaceId = 'fedcba9876543210fedcba9876543210';
  const token = 'test-token';
  const values = new Map<string, string>();
  const requests: string[] = [];
  const root = `/client/v4/accounts/${accountId}/storage/kv/namespaces/${namespaceId}`;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const fail = (status: number, code: number, message: string) =>
      send(status, { success: false, errors: [{ code, message }], messages: [], result: null });
    if (req.headers.authorization !== `Bearer ${token}`) return fail(403, 10000, 'Authentication error');
    if (!url.pathname.startsWith(root)) return fail(404, 10013, 'namespace not found');
    const rest = url.pathname.slice(root.length);
    if (req.method === 'GET' && rest === '/keys') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const all = [...values.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get('cursor') || 0);
      const page = all.slice(start, start + pageSize);
      const next = start + pageSize < all.length ? String(start + pageSize) : '';
      return send(200, {
        success: true,
        errors: [],
        messages: [],
        result: page.map((name) => ({ name })),
        result_info: { count: page.length, cursor: next },
      });
    }
    if (!rest.startsWith('/values/')) return fail(404, 7003, 'Could not route');
    const key = decodeURIComponent(rest.slice('/values/'.length));
    if (req.method === 'GET') {
      if (!values.has(key)) return fail(404, 10009, "get: 'key not found'");
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(values.get(key));
    }
    if (req.method === 'PUT') {
      values.set(key, await body(req));
      return send(200, { success: true, errors: [], messages: [], result: {} });
    }
    if (req.method === 'DELETE') {
      values.delete(key);
      return send(200, { success: true, errors: [], messages: [], result: null });
    }
    return fail(405, 10000, 'method not allowed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/client/v4`,
    accountId,
    namespaceId,
    token,
    values,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
