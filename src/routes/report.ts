/**
 * GET /v1/models/<version>/report: a deployed model's report as an HTML page (src/report/): its
 * metrics per data set, precision-recall curves and score distributions where the manifest has
 * them, and its data sources with licences. Reads only the manifest (from the isolate's loaded
 * models, else R2): a report never loads a model. 404 `model_not_found` for a version that is not
 * deployed, 503 `model_unavailable` for a manifest that fails its schema. Cached by the caller
 * only (`Cache-Control: private`, `Vary: Authorization`).
 */
import { Hono } from 'hono';
import { GuardError } from '../errors.ts';
import { describeIssue, readJson } from '../guard/load-model.ts';
import { MODEL_KEYS, ManifestSchema, VERSION_PATTERN, type Manifest } from '../guard/manifest.ts';
import { ModelUnavailableError, UnknownVersionError, type ModelRegistry } from '../guard/registry.ts';
import type { AppEnv } from '../http/app-env.ts';
import { htmlPage } from '../http/html-page.ts';
import { REPORT_STYLE, renderModelReport } from '../report/model-report.ts';

/**
 * The manifest of `version`: a loaded model's, else read from R2.
 * @throws GuardError 404 model_not_found, 503 model_unavailable
 */
async function manifestOf(bucket: R2Bucket | undefined, registry: ModelRegistry, version: string): Promise<Manifest> {
  const loaded = registry.status().loaded.find((model) => model.manifest.version === version);
  if (loaded) return loaded.manifest;
  if (!bucket) throw new GuardError(503, 'model_unavailable', 'no R2 bucket bound as MODELS');
  try {
    const parsed = ManifestSchema.safeParse(await readJson(bucket, MODEL_KEYS.manifest(version), UnknownVersionError));
    if (!parsed.success) throw new ModelUnavailableError(`manifest of ${version} is invalid: ${describeIssue(parsed.error.issues)}`);
    return parsed.data;
  } catch (error) {
    if (error instanceof UnknownVersionError) {
      throw new GuardError(404, 'model_not_found', `model version '${version}' is not deployed (GET /v1/models lists the loaded ones)`, {
        cause: error,
      });
    }
    if (error instanceof ModelUnavailableError) throw new GuardError(503, 'model_unavailable', error.message, { cause: error });
    throw error;
  }
}

/** @param registry where loaded models (and so their manifests) are found first */
export function createReportRoute(registry: ModelRegistry) {
  return new Hono<AppEnv>().get('/v1/models/:version/report', async (c) => {
    const version = c.req.param('version');
    if (!VERSION_PATTERN.test(version)) {
      throw new GuardError(
        400,
        'invalid_request',
        `'${version.slice(0, 80)}' is not a model version (letters, digits, ".", "_" or "-", at most 64)`,
      );
    }
    const manifest = await manifestOf(c.env?.MODELS, registry, version);
    // A version's manifest never changes once deployed; a short cache still lets a fix show. Only
    // the caller's own cache: a shared one would hand a keyed page to callers without a key.
    c.header('vary', 'Authorization', { append: true });
    return htmlPage(c, renderModelReport(manifest), { styles: [REPORT_STYLE] }, 'private, max-age=300');
  });
}
