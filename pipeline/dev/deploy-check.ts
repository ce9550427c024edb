#!/usr/bin/env node
/**
 * `npm run deploy:check`: bundles the worker with `wrangler deploy --dry-run` and fails when
 * wrangler refuses it or when its gzip size is over Cloudflare's Workers Paid limit (10 MiB).
 * Over the Free plan's 3 MiB is reported, not failed: the ORT WASM alone is ~3.5 MiB gzipped.
 */
import { SIZE_LIMITS_KIB, dryRun } from '../wrangler/wrangler.ts';

try {
  const { totalKiB, gzipKiB } = dryRun();
  console.log(`deploy:check: upload ${(totalKiB / 1024).toFixed(2)} MiB, gzip ${(gzipKiB / 1024).toFixed(2)} MiB`);
  if (gzipKiB > SIZE_LIMITS_KIB.free) console.log('deploy:check: over the Workers Free limit (3 MiB gzip); needs Workers Paid');
  if (gzipKiB > SIZE_LIMITS_KIB.paid) {
    console.error('deploy:check: over the Workers Paid limit (10 MiB gzip); Cloudflare would reject this upload');
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`deploy:check: ${(error as Error).message}`);
  process.exitCode = 1;
}
