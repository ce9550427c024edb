/**
 * The model manifest: the one hand-off format between training and serving. It travels next to
 * `model.onnx` (in `model/`, in R2 under `models/<version>/`) and tells the worker everything it
 * must not hard-code: featurizer settings, labels, thresholds, file hashes, provenance, metrics.
 */
import { z } from 'zod';

export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/** Settings of `featurize.ts`; a manifest with another `kind` is refused. */
export const FeaturizerConfigSchema = z.object({
  kind: z.literal('hashed-ngrams-v1'),
  /** Rows of the embedding table; row 0 is padding and never produced by a feature. */
  buckets: z.number().int().min(2),
  /** Character n-gram lengths, inclusive, over `<word>`. */
  charNgramMin: z.number().int().min(1),
  charNgramMax: z.number().int().min(1),
  /** Whether adjacent word pairs are features. */
  wordBigrams: z.boolean(),
  /**
   * Whether function words ("how", "can", "i", "the") are left out as features of their own
   * (their bigrams with content words stay). Without it, a student learns the phrasing of the
   * harmful sets ("How can I ...?") instead of their content. Absent in older manifests: false.
   */
  skipStopwords: z.boolean().default(false),
  /** Tokens per window, and how far the next window starts. */
  windowTokens: z.number().int().min(1),
  windowStride: z.number().int().min(1),
  /**
   * A prompt's sentences are also scored on their own, long ones in sub-windows of this many
   * tokens, so benign text around a harmful request cannot dilute it; 0 = windows only. Absent in
   * manifests before 2.0: 0.
   */
  spanTokens: z.number().int().min(0).default(0),
  /**
   * A sentence of more than four spans' tokens is run-on text (a request hidden in text without
   * sentence ends): it is also cut into finer sub-windows of this many tokens; 0 = none. Absent in
   * manifests before 2.0.2: 0.
   */
  runOnSpanTokens: z.number().int().min(0).default(0),
  /**
   * A sentence cut into sub-windows is also scored by its first and its last this many tokens, for
   * each length listed: a request after (or before) benign text without sentence ends shares no
   * span with it, whatever its length. Off in the shipped models: it costs forum text false
   * positives (see src/README.md, "What is scored"). Absent: none.
   */
  edgeSpanTokens: z.array(z.number().int().min(1)).max(8).default([]),
  /** Whether a text is also scored with its base64 / hex / URL-encoded runs decoded. Absent: true. */
  decodeViews: z.boolean().default(true),
  /** Whether a text written backwards is also scored read forwards. Absent in manifests before 2.0.1: false. */
  reverseViews: z.boolean().default(false),
});
export type FeaturizerConfig = z.infer<typeof FeaturizerConfigSchema>;

/** OpenAI moderation category keys (the `omni-moderation` set). */
export const OPENAI_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type OpenAICategory = (typeof OPENAI_CATEGORIES)[number];

export const DataSourceSchema = z.object({
  name: z.string(),
  license: z.string(),
  rows: z.number().int().min(0),
  use: z.enum(['train', 'eval-only']),
});

/** How the student pools a bag of embedding rows: their mean, or their mean and per-dimension max. */
export const PoolingSchema = z.enum(['mean', 'mean-max']);
export type Pooling = z.infer<typeof PoolingSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(1),
  version: z.string().regex(VERSION_PATTERN, 'letters, digits, ".", "_" or "-", at most 64'),
  createdAt: z.string(),
  files: z.object({
    model: z.object({ path: z.string(), sha256: Sha256, bytes: z.number().int().positive() }),
  }),
  featurizer: FeaturizerConfigSchema,
  model: z.object({
    architecture: z.literal('hashed-bag-mlp'),
    dim: z.number().int().positive(),
    hidden: z.number().int().positive(),
    /** 'mean-max' adds each bag's per-dimension max to its mean; manifests before 1.2 had mean only. */
    pooling: PoolingSchema.default('mean'),
    quantization: z.enum(['int8-rows', 'int8-columns', 'float32']),
    parameters: z.number().int().positive(),
  }),
  /** Output columns of the model, in order. The first is the overall P(harmful). */
  labels: z.array(z.string()).min(1),
  /** Which OpenAI moderation keys each label stands for; keys no label maps to are not reported. */
  openaiCategories: z.record(z.string(), z.array(z.enum(OPENAI_CATEGORIES))),
  /** Decision threshold on the first label, chosen by `pipeline eval` and recorded here. */
  threshold: z.number().min(0).max(1),
  /** Per-label thresholds for the category flags (defaults to `threshold`). */
  categoryThresholds: z.record(z.string(), z.number().min(0).max(1)).default({}),
  dataSources: z.array(DataSourceSchema).default([]),
  training: z.record(z.string(), z.unknown()).default({}),
  metrics: z.record(z.string(), z.unknown()).default({}),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type DataSource = z.infer<typeof DataSourceSchema>;

/**
 * The R2 pointers `models/current.json` (the version the worker serves) and
 * `models/candidate.json` (a version it also scores with, in the shadow). The worker reads only
 * `version`; extra keys are ignored.
 */
export const PointerSchema = z.object({
  version: z.string().regex(VERSION_PATTERN, 'letters, digits, ".", "_" or "-", at most 64'),
});
export type Pointer = z.infer<typeof PointerSchema>;

/**
 * A pointer as the pipeline writes it (`promote`, `rollback`): the version, when it was set, and
 * the versions it named before, newest first, each with the time it became current. A pointer
 * without the extra keys (hand-written, `npm start`) reads as one with an empty history.
 */
export const PointerRecordSchema = PointerSchema.extend({
  updatedAt: z.string().optional(),
  history: z.array(z.object({ version: PointerSchema.shape.version, at: z.string() })).default([]),
});
export type PointerRecord = z.infer<typeof PointerRecordSchema>;

/** Where the worker writes shadow records; `pipeline shadow-report` reads them. */
export const SHADOW_PREFIX = 'shadow/';

/** Where the worker writes the teacher's verdicts on escalated texts; `pipeline feedback` reads them. */
export const FEEDBACK_PREFIX = 'feedback/';

/** R2 keys of the model registry, shared by the worker (reads) and the pipeline (writes). */
export const MODEL_KEYS = {
  pointer: 'models/current.json',
  candidate: 'models/candidate.json',
  manifest: (version: string) => `models/${version}/manifest.json`,
  model: (version: string) => `models/${version}/model.onnx`,
  /** One shadow record: by day, then time, so a listing reads in order. */
  shadow: (at: string, id: string) => `${SHADOW_PREFIX}${at.slice(0, 10)}/${at.replace(/[-:.]/g, '')}-${id}.json`,
  /** One feedback record: by day, then time, as the shadow's. */
  feedback: (at: string, id: string) => `${FEEDBACK_PREFIX}${at.slice(0, 10)}/${at.replace(/[-:.]/g, '')}-${id}.json`,
} as const;

const ShadowVerdictSchema = z.object({ score: z.number().min(0).max(1), flagged: z.boolean() });
const ShadowModelSchema = z.object({ version: PointerSchema.shape.version, threshold: z.number().min(0).max(1) });

/**
 * One shadowed request: both models' P(harmful) and verdict for each of its texts, never the
 * texts themselves.
 */
export const ShadowRecordSchema = z.object({
  schemaVersion: z.literal(1),
  at: z.string(),
  route: z.string(),
  current: ShadowModelSchema,
  candidate: ShadowModelSchema,
  items: z.array(z.object({ current: ShadowVerdictSchema, candidate: ShadowVerdictSchema })).min(1),
});
export type ShadowRecord = z.infer<typeof ShadowRecordSchema>;

const FeedbackTeacherSchema = z.union([
  z.object({
    unsafe: z.boolean(),
    /** P(unsafe); null for a teacher that answers a verdict only (Workers AI). */
    score: z.number().min(0).max(1).nullable(),
    /** Llama Guard's hazard codes (S1-S14). */
    codes: z.array(z.string()),
    latencyMs: z.number().min(0),
  }),
  z.object({ error: z.enum(['timeout', 'unavailable', 'malformed']), message: z.string(), latencyMs: z.number().min(0) }),
]);

/**
 * One escalated text: its SHA-256 (and, unless FEEDBACK_STORE_TEXT is "false", the text itself),
 * why it went to the teacher, the student's P(harmful) and verdict, and what the teacher said.
 */
export const FeedbackItemSchema = z.object({
  prompt: z.string().optional(),
  response: z.string().nullable().optional(),
  promptSha256: Sha256,
  responseSha256: Sha256.nullable(),
  reason: z.enum(['band', 'always']),
  student: ShadowVerdictSchema,
  teacher: FeedbackTeacherSchema,
});
export type FeedbackItem = z.infer<typeof FeedbackItemSchema>;

/**
 * One request's escalated texts with the teacher's verdicts: the loop's raw material
 * (`pipeline feedback pull` turns them into training rows). `traffic` is what the writing
 * isolate scored with a teacher configured since its previous record (this request included),
 * so the records together tell the share of traffic that went to the teacher.
 */
export const FeedbackRecordSchema = z.object({
  schemaVersion: z.literal(1),
  at: z.string(),
  route: z.string(),
  model: ShadowModelSchema,
  teacher: z.object({ kind: z.enum(['openai-compatible', 'workers-ai']), model: z.string() }),
  band: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  traffic: z.object({ requests: z.number().int().min(1), texts: z.number().int().min(1), escalated: z.number().int().min(0) }),
  items: z.array(FeedbackItemSchema).min(1),
});
export type FeedbackRecord = z.infer<typeof FeedbackRecordSchema>;
