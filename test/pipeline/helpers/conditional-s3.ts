/**
 * A small S3-compatible server on loopback that honours `If-None-Match: *` on PutObject, as R2
 * and S3 do (s3rver ignores it). Enough of the API for the registry commands: bucket creation,
 * PutObject, GetObject, DeleteObject and ListObjectsV2, in memory. Signatures are not checked
 * (s3rver's suites cover signing); the header's presence is. Each request is one synchronous
 * step of the event loop, so a conditional PUT's check and write are atomic, as on the real thing.
 * `staleListing` makes listings answer as if empty: a listing taken before another deploy wrote,
 * which lets a test put the race between `deploy`'s listing and its writes on demand.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConditionalS3 {
  endpoint: string;
  /** Every request: method, path (bucket/key) and its If-None-Match header. */
  requests: { method: string; path: string; ifNoneMatch: string | null }[];
  /** Stored objects by `bucket/key`. */
  objects: Map<string, Uint8Array>;
  staleListing: boolean;
  close(): Promise<void>;
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Starts the server on 127.0.0.1 (an ephemeral port). Close it when done. */
export async function startConditionalS3(): Promise<ConditionalS3> {
  const buckets = new Set<string>();
  const objects = new Map<string, Uint8Array>();
  const uploaded = new Map<string, Date>();
  const requests: ConditionalS3['requests'] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3.test');
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const ifNoneMatch = req.headers['if-none-match'] ?? null;
    requests.push({
      method: req.method ?? '',
      path: key ? `${bucket}/${key}` : bucket,
      ifNoneMatch: typeof ifNoneMatch === 'string' ? ifNoneMatch : null,
    });
    const body = await readBody(req);
    const xml = (status: number, text: string) => res.writeHead(status, { 'content-type': 'application/xml' }).end(text);
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) return xml(403, s3Error('AccessDenied', 'no signature'));
    if (req.method === 'PUT' && !key) {
      buckets.add(bucket);
      return res.writeHead(200).end();
    }
    if (!buckets.has(bucket)) return xml(404, s3Error('NoSuchBucket', 'The specified bucket does not exist'));
    const id = `${bucket}/${key}`;
    if (req.method === 'PUT') {
      if (ifNoneMatch === '*' && objects.has(id))
        return xml(412, s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
      objects.set(id, body);
      uploaded.set(id, new Date());
      return res.writeHead(200, { etag: `"${objects.size}"` }).end();
    }
    if (req.method === 'GET' && key) {
      const object = objects.get(id);
      if (!object) return xml(404, s3Error('NoSuchKey', 'The specified key does not exist.'));
      return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(object);
    }
    if (req.method === 'DELETE') {
      objects.delete(id);
      return res.writeHead(204).end();
    }
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
      const prefix = `${bucket}/${url.searchParams.get('prefix') ?? ''}`;
      const listed = handle.staleListing ? [] : [...objects].filter(([name]) => name.startsWith(prefix));
      const contents = listed
        .map(
          ([name, bytes]) =>
            `<Contents><Key>${xmlEscape(name.slice(bucket.length + 1))}</Key><Size>${bytes.byteLength}</Size><LastModified>${uploaded.get(name)!.toISOString()}</LastModified></Contents>`,
        )
        .join('');
      return xml(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      );
    }
    return xml(400, s3Error('NotImplemented', `${req.method} ${url.pathname}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: ConditionalS3 = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    objects,
    staleListing: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return handle;
}
