/**
 * The loop's raw material: the teacher's verdicts on escalated texts, written to R2 under
 * `feedback/<yyyy-mm-dd>/` after the response (`waitUntil`) for `pipeline feedback pull` to turn
 * into training rows. Only for requests in FEEDBACK_SAMPLE_RATE (default 0: nothing is stored);
 * with FEEDBACK_STORE_TEXT "false", only the texts' SHA-256 and the scores. The isolate also
 * counts what it scored with a teacher configured, and each record carries the count since its
 * previous one, so the records tell the share of traffic the teacher saw.
 */
import type { TeacherFailure } from '../teacher/client.ts';
import type { Escalation } from './cascade.ts';
import type { CascadeConfig } from './cascade-config.ts';
import type { ClassifyInput } from './classifier.ts';
import { MODEL_KEYS, type FeedbackItem, type FeedbackRecord } from './manifest.ts';
import type { LoadedModel } from './registry.ts';

/** What this isolate scored with a teacher configured since its last feedback record. */
const traffic = { requests: 0, texts: 0, escalated: 0 };

/**
 * Counts one scored request in the isolate's traffic.
 * @param escalated how many of its texts went to the teacher
 */
export function countTraffic(texts: number, escalated: number): void {
  traffic.requests++;
  traffic.texts += texts;
  traffic.escalated += escalated;
}

/** The traffic counted since the last record, and a fresh count. */
function takeTraffic(): FeedbackRecord['traffic'] {
  const taken = { ...traffic };
  traffic.requests = 0;
  traffic.texts = 0;
  traffic.escalated = 0;
  return taken;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (text: string) => hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

async function itemOf(
  input: ClassifyInput,
  escalation: Escalation,
  student: { score: number; flagged: boolean },
  storeText: boolean,
): Promise<FeedbackItem> {
  const { outcome } = escalation;
  const teacher: FeedbackItem['teacher'] =
    'error' in outcome
      ? // a call the budget stopped is never recorded (see recordFeedback): only real failures get here
        { error: outcome.error as TeacherFailure, message: outcome.message, latencyMs: outcome.latencyMs }
      : { unsafe: outcome.unsafe, score: outcome.score ?? null, codes: outcome.codes, latencyMs: outcome.latencyMs };
  return {
    ...(storeText ? { prompt: input.prompt, response: input.response } : {}),
    promptSha256: await sha256(input.prompt),
    responseSha256: input.response === null ? null : await sha256(input.response),
    reason: escalation.reason,
    student,
    teacher,
  };
}

/** What one request gave the feedback loop. */
export interface FeedbackRequest {
  model: LoadedModel;
  inputs: ClassifyInput[];
  /** The student's P(harmful) and verdict on each input, in order (before the teacher), at `threshold`. */
  student: { score: number; flagged: boolean }[];
  /** The threshold the caller's policy applied. */
  threshold: number;
  escalations: Escalation[];
  route: string;
}

/**
 * Counts the request and, when it falls in FEEDBACK_SAMPLE_RATE and the teacher was asked about
 * any of its texts (a call the budget stopped was not), writes its record after the response.
 * A failed write is logged, never the caller's problem.
 * @param waitUntil the request's; without one (outside a Workers request) nothing is written
 */
export function recordFeedback(
  config: CascadeConfig,
  bucket: R2Bucket | undefined,
  waitUntil: ((promise: Promise<unknown>) => void) | undefined,
  request: FeedbackRequest,
): void {
  const asked = request.escalations.filter(({ outcome }) => !('error' in outcome && outcome.error === 'budget_spent'));
  countTraffic(request.inputs.length, asked.length);
  const { sampleRate, storeText } = config.feedback;
  if (asked.length === 0 || !bucket || !waitUntil || sampleRate <= 0 || Math.random() >= sampleRate) return;
  const at = new Date().toISOString();
  const counted = takeTraffic();
  const { manifest } = request.model;
  const write = async () => {
    const items = await Promise.all(asked.map((e) => itemOf(request.inputs[e.index]!, e, request.student[e.index]!, storeText)));
    const record: FeedbackRecord = {
      schemaVersion: 1,
      at,
      route: request.route,
      model: { version: manifest.version, threshold: request.threshold },
      teacher: { kind: config.teacher.kind, model: config.teacher.model },
      band: [config.band[0], config.band[1]],
      traffic: counted,
      items,
    };
    await bucket.put(MODEL_KEYS.feedback(at, crypto.randomUUID().slice(0, 8)), JSON.stringify(record), {
      httpMetadata: { contentType: 'application/json' },
    });
  };
  waitUntil(write().catch((error: unknown) => console.error(`edgeguard: writing feedback failed: ${(error as Error)?.message ?? error}`)));
}
