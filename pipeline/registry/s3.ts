/**
 * The remote target: Cloudflare R2 through its S3-compatible API (path-style requests signed
 * with SigV4 by aws4fetch), at `https://<account_id>.r2.cloudflarestorage.com` or any endpoint
 * that speaks S3 (tests use a local s3rver).
 */
import { AwsClient } from 'aws4fetch';
import { CLIError } from '../errors.ts';
import { sha256Hex } from '../sha256.ts';
import type { RegistryStore, StoredObject } from './store.ts';

export interface S3StoreOptions {
  /** e.g. `https://<account_id>.r2.cloudflarestorage.com`. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** R2 takes `auto`. */
  region?: string;
  /** Retries of a 5xx or 429 answer, with exponential backoff from 100 ms. Default 3. */
  retries?: number;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (text: string) => text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => XML_ENTITIES[name]!);

/** The text of each `<tag>` element directly in `xml` (S3 answers are flat enough for this). */
function elements(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
}
const element = (xml: string, tag: string): string | undefined => elements(xml, tag)[0];

/** One page of ListObjectsV2. */
export function parseListPage(xml: string): { objects: StoredObject[]; next: string | null } {
  const objects = elements(xml, 'Contents').map((entry) => ({
    key: unescapeXml(element(entry, 'Key') ?? ''),
    size: Number(element(entry, 'Size') ?? 0),
    uploaded: new Date(element(entry, 'LastModified') ?? 0),
  }));
  const truncated = element(xml, 'IsTruncated') === 'true';
  const token = element(xml, 'NextContinuationToken');
  return { objects, next: truncated && token ? unescapeXml(token) : null };
}

/**
 * Opens an R2 bucket through the S3 API. Nothing is contacted until the first call.
 * @throws CLIError on any request the server refuses or cannot be reached for, naming the S3
 *   error code (e.g. `403 SignatureDoesNotMatch`)
 * @example
 * const store = createS3Store({ endpoint: `https://${account}.r2.cloudflarestorage.com`, bucket: 'edgeguard-models', accessKeyId, secretAccessKey });
 */
export function createS3Store(options: S3StoreOptions): RegistryStore {
  const client = new AwsClient({
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    service: 's3',
    region: options.region ?? 'auto',
    retries: options.retries ?? 3,
    initRetryMs: 100,
  });
  const base = `${options.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(options.bucket)}`;
  const url = (key: string) => `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const where = `R2 bucket ${options.bucket} at ${options.endpoint}`;

  async function request(what: string, target: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await client.fetch(target, init);
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      throw new CLIError(`${what}: cannot reach ${options.endpoint} (${cause?.code ?? cause?.message ?? (error as Error).message})`, {
        cause: error,
      });
    }
    return response;
  }

  async function fail(what: string, response: Response): Promise<never> {
    const body = await response.text().catch(() => '');
    const code = element(body, 'Code');
    const message = element(body, 'Message');
    const detail = [code, message && unescapeXml(message)].filter(Boolean).join(': ');
    throw new CLIError(`${what} in ${where} failed: ${response.status}${detail ? ` ${detail}` : ''}`);
  }

  return {
    where,
    async get(key) {
      const response = await request(`GET ${key}`, url(key));
      if (response.status === 404) {
        const body = await response.text();
        if (element(body, 'Code') === 'NoSuchBucket') throw new CLIError(`${where}: the bucket does not exist`);
        return null;
      }
      if (!response.ok) return fail(`GET ${key}`, response);
      return new Uint8Array(await response.arrayBuffer());
    },
    async put(key, body, contentType) {
      // A signed payload hash: the server refuses bytes that do not match what we meant to send.
      const response = await request(`PUT ${key}`, url(key), {
        method: 'PUT',
        body,
        headers: { 'content-type': contentType, 'x-amz-content-sha256': sha256Hex(body) },
      });
      if (!response.ok) return fail(`PUT ${key}`, response);
      await response.body?.cancel();
    },
    async create(key, body, contentType) {
      const response = await request(`PUT ${key}`, url(key), {
        method: 'PUT',
        body,
        headers: { 'content-type': contentType, 'x-amz-content-sha256': sha256Hex(body), 'if-none-match': '*' },
      });
      // 412: the key exists; 409 (S3's ConditionalRequestConflict): another write to it is in flight
      if (response.status === 412 || response.status === 409) {
        await response.body?.cancel();
        return false;
      }
      if (!response.ok) return fail(`PUT ${key}`, response);
      await response.body?.cancel();
      return true;
    },
    async delete(key) {
      const response = await request(`DELETE ${key}`, url(key), { method: 'DELETE' });
      if (!response.ok && response.status !== 404) return fail(`DELETE ${key}`, response);
      await response.body?.cancel();
    },
    async list(prefix) {
      const objects: StoredObject[] = [];
      let token: string | null = null;
      do {
        const query = new URLSearchParams({ 'list-type': '2', prefix });
        if (token) query.set('continuation-token', token);
        const response = await request(`LIST ${prefix}`, `${base}?${query}`);
        if (!response.ok) return fail(`LIST ${prefix}`, response);
        const page = parseListPage(await response.text());
        objects.push(...page.objects);
        token = page.next;
      } while (token);
      return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    close: async () => {},
  };
}
