/**
 * Scoring in a deployed EdgeGuard worker, whichever way it is reached (service binding or HTTP):
 * a guarded request's inputs as API-sized classify batches, the answers folded into one verdict as
 * the scoring core does in-process, and the ways a remote call fails sorted into "no model could
 * score" (the fail mode decides) and everything else (an error, whatever the fail mode).
 */
import type { ClassifyItem, ClassifyResponse, EdgeGuardError, EdgeGuardResult, ScoredClassifyResponse } from '../../client/types.ts';
import { GuardError, type ErrorCode } from '../../errors.ts';
import type { FinalVerdict } from '../../guard/cascade.ts';
import type { ClassifyInput, Verdict } from '../../guard/classifier.ts';
import { CATEGORY_NAMED_AT } from '../../guard/labels.ts';
import { MAX_BODY_BYTES, MAX_ITEMS, MAX_TEXT_CHARS } from '../../http/limits.ts';
import type { GuardScore, GuardScoreRequest } from './scorer.ts';

/**
 * Characters that two parts of a text longer than the API takes (a whole conversation, up to
 * 128,000) share, so a passage cut at a part's end is read whole at the next part's start: the
 * model's windows are 256 tokens, about 1,000 characters.
 */
export const PART_OVERLAP_CHARS = 2_000;

/** JSON bytes a batch may take: the API's 1 MiB body limit less room for the envelope. */
const BATCH_BYTES = MAX_BODY_BYTES - 16 * 1024;

/** One classify call: items as the API takes them. */
export type ClassifyCall = (items: ClassifyItem[]) => Promise<EdgeGuardResult<ClassifyResponse>>;

/** Pieces of at most MAX_TEXT_CHARS, overlapping by PART_OVERLAP_CHARS, never splitting a surrogate pair. */
export function textParts(text: string, max = MAX_TEXT_CHARS, overlap = PART_OVERLAP_CHARS): string[] {
  if (text.length <= max) return [text];
  const parts: string[] = [];
  for (let start = 0; ;) {
    let end = Math.min(start + max, text.length);
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
    parts.push(text.slice(start, end));
    if (end === text.length) return parts;
    start = end - overlap;
    if (/[\uDC00-\uDFFF]/.test(text[start]!)) start--;
  }
}

/** The batches to send and, for each item sent, the input it is a part of. */
export interface Batches {
  batches: { items: ClassifyItem[]; owners: number[] }[];
}

/**
 * The inputs as classify batches: at most MAX_ITEMS items and about 1 MiB of JSON each; a text over
 * MAX_TEXT_CHARS goes as overlapping parts (a pair as every prompt part with every response part).
 */
export function batchesOf(inputs: readonly ClassifyInput[]): Batches {
  const encoder = new TextEncoder();
  const batches: Batches['batches'] = [];
  let current: Batches['batches'][number] = { items: [], owners: [] };
  let bytes = 0;
  inputs.forEach(({ prompt, response }, owner) => {
    for (const promptPart of textParts(prompt)) {
      for (const responsePart of response === null ? [null] : textParts(response)) {
        const item: ClassifyItem = responsePart === null ? { prompt: promptPart } : { prompt: promptPart, response: responsePart };
        const size = encoder.encode(JSON.stringify(item)).byteLength + 1;
        if (current.items.length === MAX_ITEMS || (current.items.length > 0 && bytes + size > BATCH_BYTES)) {
          batches.push(current);
          current = { items: [], owners: [] };
          bytes = 0;
        }
        current.items.push(item);
        current.owners.push(owner);
        bytes += size;
      }
    }
  });
  if (current.items.length > 0) batches.push(current);
  return { batches };
}

/**
 * All inputs as one verdict, from the API's per-item results: each label's highest score over the
 * parts and inputs, and the input with the highest P(harmful). Decided under the remote's policy
 * with the guard's own thresholds over it, as the scoring core decides in-process: a label the
 * guard names takes its threshold; the guard's `threshold` is P(harmful)'s and, as in-process,
 * that of every category whose remote threshold is the overall one (it fell back to it). Through
 * a service binding the remote already applied the guard's policy, so this decides as it did.
 */
export function foldVerdict(
  answers: { answer: ScoredClassifyResponse; owners: number[] }[],
  inputs: number,
  request: GuardScoreRequest,
): { verdict: FinalVerdict; decisive: number } {
  const { policy } = answers[0]!.answer;
  const threshold = request.policy.threshold ?? policy.threshold;
  const categoryThreshold = (label: string) => {
    const remote = policy.categoryThresholds[label] ?? policy.threshold;
    return request.policy.categoryThresholds?.[label] ?? (remote === policy.threshold ? threshold : remote);
  };
  const perInput = Array.from({ length: inputs }, () => -Infinity);
  const categories = new Map<string, number>();
  // the student decides by the scores; a part the remote's teacher decided is decided by its verdict
  const studentCategories = new Map<string, number>();
  let studentScore = -Infinity;
  let byTeacher: { flagged: boolean; teacher: FinalVerdict['teacher'] } | null = null;
  for (const { answer, owners } of answers) {
    answer.results.forEach((result, i) => {
      const owner = owners[i]!;
      perInput[owner] = Math.max(perInput[owner]!, result.score);
      for (const [label, { score }] of Object.entries(result.categories))
        categories.set(label, Math.max(categories.get(label) ?? 0, score));
      if (result.decidedBy === 'teacher') {
        // the wire's outcome is the core's, typed loosely for clients
        if (!byTeacher || (result.flagged && !byTeacher.flagged))
          byTeacher = { flagged: result.flagged, teacher: result.teacher as FinalVerdict['teacher'] };
        return;
      }
      studentScore = Math.max(studentScore, result.score);
      for (const [label, { score }] of Object.entries(result.categories))
        studentCategories.set(label, Math.max(studentCategories.get(label) ?? 0, score));
    });
  }
  const decisive = perInput.reduce((best, score, i) => (score > perInput[best]! ? i : best), 0);
  const score = perInput[decisive]!;
  const verdictCategories: Verdict['categories'] = {};
  let anyCategory = false;
  const overallFlagged = score >= threshold;
  for (const [label, value] of categories) {
    const own = categoryThreshold(label);
    // a text flagged on P(harmful) also names the categories at CATEGORY_NAMED_AT, as in-process
    const flagged = value >= own || (overallFlagged && value >= Math.min(own, CATEGORY_NAMED_AT));
    verdictCategories[label] = { score: value, flagged };
    if ((studentCategories.get(label) ?? -Infinity) >= own) anyCategory = true;
  }
  const studentFlagged = studentScore >= threshold || anyCategory;
  const teacher = byTeacher as { flagged: boolean; teacher: FinalVerdict['teacher'] } | null;
  const decidedBy = teacher && (teacher.flagged || !studentFlagged) ? 'teacher' : 'student';
  const verdict: FinalVerdict = {
    score,
    flagged: studentFlagged || (teacher?.flagged ?? false),
    threshold,
    categories: verdictCategories,
    decidedBy,
  };
  if (decidedBy === 'teacher' && teacher?.teacher) verdict.teacher = teacher.teacher;
  return { verdict, decisive };
}

/** No model could score: the fail mode decides (open: let through unscored; closed: 503). */
function unavailable(reason: string, request: GuardScoreRequest): GuardScore {
  if (request.policy.failMode === 'open') return { scored: false, reason };
  throw new GuardError(503, 'model_unavailable', reason);
}

/**
 * A failed call as the guarded route answers it, EdgeGuard's own words kept. No model to score
 * with (`model_unavailable`), or no answer at all (a network failure, a timeout, 429, 502, 503,
 * 504) is a model that cannot score: the fail mode decides. A refused API key is the guard's
 * misconfiguration: 500, never failed open (that would switch the guard off unseen). The rest
 * (413 `too_much_text`, 500 from a misconfigured EdgeGuard, ...) is answered as EdgeGuard
 * answered it, whatever the fail mode, as the scoring core does in-process.
 */
function failed(error: EdgeGuardError, request: GuardScoreRequest, scorer: string): GuardScore {
  const { status, code, message } = error;
  if (code === 'model_unavailable') return unavailable(message, request);
  if (status === null || status === 429 || status === 502 || status === 503 || status === 504) {
    return unavailable(`EdgeGuard (${scorer}) could not score: ${code}: ${message}`, request);
  }
  if (status === 401 || status === 403) {
    throw new GuardError(
      500,
      'internal_error',
      `the guard is misconfigured: EdgeGuard (${scorer}) refused its credentials (${code}: ${message})`,
    );
  }
  throw new GuardError(status as 400, code as ErrorCode, message);
}

/**
 * Scores a guarded request's inputs in a remote EdgeGuard, batch by batch, all batches at once.
 * @param call one classify call (the binding's RPC, or the HTTP client)
 * @param scorer how it is reached, for messages
 * @throws GuardError as GuardScorer.score
 */
export async function scoreRemotely(call: ClassifyCall, request: GuardScoreRequest, scorer: string): Promise<GuardScore> {
  const { batches } = batchesOf(request.inputs);
  const results = await Promise.all(batches.map(({ items }) => call(items)));
  const answers: { answer: ScoredClassifyResponse; owners: number[] }[] = [];
  for (const [i, result] of results.entries()) {
    if (!result.ok) return failed(result.error, request, scorer);
    const answer = result.data;
    if (answer.model === null) return unavailable(answer.unavailable.message, request);
    answers.push({ answer, owners: batches[i]!.owners });
  }
  const { verdict, decisive } = foldVerdict(answers, request.inputs.length, request);
  return { scored: true, verdict, decisive, modelVersion: answers[0]!.answer.model.version };
}
