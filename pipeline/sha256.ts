/** The one sha256 of the pipeline: lowercase hex, as manifests record it and S3 requests sign it. */
import { createHash } from 'node:crypto';

/** @example sha256Hex(new TextEncoder().encode('abc')) // 'ba7816bf...' */
export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
