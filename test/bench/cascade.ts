/**
 * The cascade's figures for `npm run bench`: which share of traffic a band sends to the teacher,
 * what that costs in teacher calls, how many of the student's mistakes it puts before the
 * teacher, and the latency a request sees with a teacher that answers in 300 ms.
 *
 * Offline, the model scores alpaca-eval (benign instructions) and the harmful-request sets of
 * ../shared/data through the pipeline's scorer (the worker's featurizer and ORT kernels): for
 * each candidate band, the share of each set in it, and the share of the student's errors at its
 * threshold (alpaca-eval rows it flags, request rows it passes) that fall in it, which the
 * teacher would then judge. The recommended band sends at most 5% of alpaca-eval to the teacher,
 * puts (within a point) the most errors before it, and of those costs the fewest teacher calls.
 *
 * Live, the worker runs under `wrangler dev` with the project's local OpenAI-compatible server
 * playing Llama Guard 3 on loopback, each answer delayed 300 ms, and is sent sampled requests
 * from both sets one after another: the escalated share it reports, round-trip p50/p99, and the
 * teacher calls the server counted per 1,000 requests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyFor } from '../../pipeline/data/sources.ts';
import { ExampleSchema, type Example } from '../../pipeline/data/schema.ts';
import { HARMFUL_REQUEST_SETS } from '../../pipeline/eval/lodo.ts';
import { createScorer } from '../../pipeline/eval/scorer.ts';
import { createRng, shuffle } from '../../pipeline/rng.ts';
import { ManifestSchema, type Manifest } from '../../src/guard/manifest.ts';
import { playLlamaGuard } from '../fixtures/llm/llama-guard-teacher.ts';
import { startMockLlm } from '../fixtures/llm/server.ts';

/** The benign reference set: instructions people send an assistant. */
const BENIGN_SET = 'alpaca-eval';
/** Most of alpaca-eval the recommended band may send to the teacher. */
const MAX_BENIGN_SHARE = 0.05;
/** Bands within this share of errors of the best are as good: the cheapest of them is recommended. */
const ERROR_TOLERANCE = 0.01;
const LOWS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95];
const HIGHS = [0.97, 0.98, 0.99, 0.995, 0.999, 1];

export type Band = readonly [number, number];

/** A band's figures on the data. */
export interface BandFigures {
  band: Band;
  /** Share of alpaca-eval rows, and of request-set rows, in the band. */
  benign: number;
  requests: number;
  /** Share of the student's errors at its threshold that fall in the band. */
  errors: number;
}

interface Scored {
  benign: number[];
  requests: number[];
  threshold: number;
  sets: { name: string; rows: number }[];
}

function readSet(dataDir: string, name: string): Example[] {
  const path = join(dataDir, `${name}.jsonl`);
  if (!existsSync(path)) return [];
  const policy = policyFor(name);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => ExampleSchema.parse(JSON.parse(line)))
    .filter((row) => row.response === null && (!policy.keep || policy.keep(row)));
}

/** alpaca-eval and the harmful-request sets present in `dataDir`, with their prompts. */
export function readBenchSets(dataDir: string): { benign: Example[]; requests: Example[]; sets: { name: string; rows: number }[] } {
  const benign = readSet(dataDir, BENIGN_SET);
  const perSet = HARMFUL_REQUEST_SETS.map((name) => ({ name, rows: readSet(dataDir, name).filter((r) => r.label === 1) }));
  const sets = [
    { name: BENIGN_SET, rows: benign.length },
    ...perSet.filter((s) => s.rows.length).map((s) => ({ name: s.name, rows: s.rows.length })),
  ];
  return { benign, requests: perSet.flatMap((s) => s.rows), sets };
}

/** Scores both sets with the model in `modelDir`, as the worker does. */
async function scoreSets(modelDir: string, manifest: Manifest, data: ReturnType<typeof readBenchSets>): Promise<Scored> {
  const scorer = await createScorer(new Uint8Array(readFileSync(join(modelDir, 'model.onnx'))), manifest);
  const score = async (rows: Example[]) => (await scorer.score(rows.map((r) => ({ prompt: r.prompt, response: null })))).map((s) => s[0]!);
  return { benign: await score(data.benign), requests: await score(data.requests), threshold: manifest.threshold, sets: data.sets };
}

const inBand = (s: number, [lo, hi]: Band) => s >= lo && s < hi;
const share = (scores: number[], band: Band) => (scores.length ? scores.filter((s) => inBand(s, band)).length / scores.length : 0);

function figures(scored: Scored, band: Band): BandFigures {
  const errors = [...scored.benign.filter((s) => s >= scored.threshold), ...scored.requests.filter((s) => s < scored.threshold)];
  return {
    band,
    benign: share(scored.benign, band),
    requests: share(scored.requests, band),
    errors: errors.length ? share(errors, band) : 0,
  };
}

/** Every candidate band around the threshold, the recommended one, and the one asked about. */
function bandTable(scored: Scored, configured: Band): { rows: BandFigures[]; pick: BandFigures | null; configured: BandFigures } {
  const rows = LOWS.filter((lo) => lo < scored.threshold).flatMap((lo) =>
    HIGHS.filter((hi) => hi > scored.threshold).map((hi) => figures(scored, [lo, hi])),
  );
  const allowed = rows.filter((r) => r.benign <= MAX_BENIGN_SHARE);
  const best = Math.max(...allowed.map((r) => r.errors));
  const cost = (r: BandFigures) => r.benign + r.requests;
  const pick =
    allowed.filter((r) => r.errors >= best - ERROR_TOLERANCE).sort((a, b) => cost(a) - cost(b) || b.errors - a.errors)[0] ?? null;
  return { rows, pick, configured: figures(scored, configured) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const per1000 = (x: number) => (1000 * x).toFixed(0);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** A worker the bench can start with the teacher's vars. */
export type StartWorker = (vars: Record<string, string>) => Promise<{ base: string; stop(): Promise<void> }>;

interface LiveFigures {
  requests: number;
  escalated: number;
  teacherCalls: number;
  p50: number;
  p99: number;
}

async function sendAll(base: string, prompts: string[]): Promise<{ ms: number[]; escalated: number }> {
  const ms: number[] = [];
  let escalated = 0;
  for (const prompt of prompts) {
    const started = performance.now();
    const response = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    const body = (await response.json()) as { results?: { teacher?: unknown }[] };
    ms.push(performance.now() - started);
    if (!response.ok) throw new Error(`POST /v1/classify answered ${response.status}: ${JSON.stringify(body)}`);
    if (body.results?.[0]?.teacher) escalated++;
  }
  return { ms: ms.sort((a, b) => a - b), escalated };
}

/**
 * Runs the cascade's part of the bench and prints it.
 * @param options.startWorker starts the worker with vars; null when the bench measures a running
 *   worker (`--url`), whose vars it cannot set: the live part is skipped
 */
export async function benchCascade(options: {
  modelDir: string;
  dataDir: string;
  band: Band;
  requests: number;
  teacherMs: number;
  startWorker: StartWorker | null;
}): Promise<void> {
  const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(options.modelDir, 'manifest.json'), 'utf8')));
  const data = readBenchSets(options.dataDir);
  console.log(
    `The cascade (model ${manifest.version} from ${options.modelDir}, threshold ${manifest.threshold.toFixed(4)}; data ${options.dataDir})\n`,
  );
  if (data.benign.length === 0 || data.requests.length === 0) {
    console.log(
      `  no ${BENIGN_SET}.jsonl or no harmful-request set in ${options.dataDir}: pass --data <dir> (the shared data sets) for the cascade figures\n`,
    );
    return;
  }
  const scored = await scoreSets(options.modelDir, manifest, data);
  const errors = scored.benign.filter((s) => s >= scored.threshold).length + scored.requests.filter((s) => s < scored.threshold).length;
  console.log(`  sets: ${data.sets.map((s) => `${s.name} ${s.rows}`).join(', ')} (prompts; request-set rows the source policy keeps)`);
  console.log(
    `  student errors at its threshold: ${errors} (${scored.benign.filter((s) => s >= scored.threshold).length} alpaca-eval rows flagged, ${scored.requests.filter((s) => s < scored.threshold).length} request rows passed)\n`,
  );

  const { rows, pick, configured } = bandTable(scored, options.band);
  // the configured and recommended bands, and the recommended one moved along each edge: the trade-offs
  const around = pick ? rows.filter((r) => r.band[0] === pick.band[0] || r.band[1] === pick.band[1]) : rows;
  const show = [...new Map([configured, ...around].map((r) => [r.band.join(','), r])).values()].sort(
    (a, b) => a.band[0] - b.band[0] || a.band[1] - b.band[1],
  );
  console.log(
    '  band            alpaca-eval escalated   request sets escalated   student errors in band   teacher calls / 1,000 (benign / harmful)',
  );
  const same = (a: Band, b: Band) => a[0] === b[0] && a[1] === b[1];
  for (const r of show) {
    const marks = [...(same(r.band, options.band) ? ['configured'] : []), ...(pick && same(r.band, pick.band) ? ['recommended'] : [])];
    const mark = marks.length ? ` <- ${marks.join(', ')}` : '';
    console.log(
      `  [${r.band[0]}, ${r.band[1]})`.padEnd(18) +
        pct(r.benign).padStart(10) +
        pct(r.requests).padStart(25) +
        pct(r.errors).padStart(25) +
        `${per1000(r.benign)} / ${per1000(r.requests)}`.padStart(22) +
        mark,
    );
  }
  if (pick)
    console.log(
      `\n  recommended (at most ${pct(MAX_BENIGN_SHARE)} of alpaca-eval escalated, the most student errors before the teacher within a point, then the fewest teacher calls): ESCALATE_BAND = "${pick.band.join(',')}"`,
    );
  console.log();

  if (!options.startWorker) {
    console.log('  live figures skipped: --url measures a running worker, whose teacher the bench cannot set\n');
    return;
  }
  const teacher = playLlamaGuard(await startMockLlm(), { delayMs: options.teacherMs });
  const worker = await options.startWorker({
    TEACHER_URL: teacher.url,
    TEACHER_MODEL: 'llama-guard-3',
    ESCALATE_BAND: options.band.join(','),
  });
  try {
    const rng = createRng(16);
    const live: [string, LiveFigures][] = [];
    for (const [name, set] of [
      [BENIGN_SET, data.benign],
      ['request sets', data.requests],
    ] as const) {
      const prompts = shuffle([...set], rng)
        .slice(0, options.requests)
        .map((r) => r.prompt);
      await sendAll(worker.base, prompts.slice(0, 5)); // warm: the model loads on the first request
      const before = teacher.requests.length;
      const { ms, escalated } = await sendAll(worker.base, prompts);
      live.push([
        name,
        {
          requests: prompts.length,
          escalated,
          teacherCalls: teacher.requests.length - before,
          p50: quantile(ms, 0.5),
          p99: quantile(ms, 0.99),
        },
      ]);
    }
    console.log(
      `  live, band [${options.band.join(', ')}), a teacher answering in ${options.teacherMs} ms on loopback, requests one after another through wrangler dev:`,
    );
    console.log('  traffic            requests   escalated   round trip p50 / p99   teacher calls / 1,000 requests');
    for (const [name, f] of live) {
      console.log(
        `  ${name.padEnd(18)}${String(f.requests).padStart(8)}${pct(f.escalated / f.requests).padStart(12)}${`${f.p50.toFixed(1)} / ${f.p99.toFixed(1)} ms`.padStart(23)}${per1000(f.teacherCalls / f.requests).padStart(33)}`,
      );
    }
    console.log();
  } finally {
    await worker.stop();
    await teacher.close();
  }
}
