#!/usr/bin/env node
/**
 * `npm run bench:evasion`: how well the guard holds up against the obfuscations and wrappers in
 * test/evasion/attacks.ts. Scores the suite's harmful requests and benign look-alikes, clean and
 * under each attack, with a model folder through the worker's featurizer and onnxruntime-web
 * kernels (pipeline/eval/scorer.ts), and prints per attack: recall at the model's threshold, how
 * far scores move from the clean text's, and the benign look-alikes' false-positive rate.
 * With `--data <dir>` (default ../shared/data, when present) it also measures alpaca-eval's FPR
 * (benign instructions, never trained on) and the time per text.
 *
 *   npm run bench:evasion -- [--model model] [--spans 32] [--run-on-spans 20] [--data ../shared/data]
 *
 * `--spans` and `--run-on-spans` set the manifest's `spanTokens` and `runOnSpanTokens` (0 = off),
 * to see what each costs and buys.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createScorer } from '../../pipeline/eval/scorer.ts';
import { readModelFolder } from '../../pipeline/model-folder.ts';
import { ATTACKS } from '../evasion/attacks.ts';
import { BENIGN_LOOKALIKES, HARMFUL_REQUESTS } from '../evasion/requests.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'model' },
    spans: { type: 'string' },
    'run-on-spans': { type: 'string' },
    data: { type: 'string', default: '../shared/data' },
    threshold: { type: 'string' },
  },
});

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

async function main(): Promise<void> {
  const { manifest, bytes } = await readModelFolder(values.model!);
  if (values.spans !== undefined) manifest.featurizer.spanTokens = Number(values.spans);
  if (values['run-on-spans'] !== undefined) manifest.featurizer.runOnSpanTokens = Number(values['run-on-spans']);
  const threshold = values.threshold !== undefined ? Number(values.threshold) : manifest.threshold;
  const scorer = await createScorer(bytes, manifest);
  const score = async (texts: readonly string[]) =>
    (await scorer.score(texts.map((prompt) => ({ prompt, response: null })))).map((s) => s[0]!);

  const clean = await score(HARMFUL_REQUESTS);
  const rows: string[][] = [];
  for (const attack of ATTACKS) {
    const harmful = await score(HARMFUL_REQUESTS.map((t) => attack.apply(t)));
    const benign = await score(BENIGN_LOOKALIKES.map((t) => attack.apply(t)));
    const recall = harmful.filter((s) => s >= threshold).length / harmful.length;
    const moved = harmful.map((s, i) => Math.abs(s - clean[i]!));
    const within = moved.filter((d) => d <= 0.05).length / moved.length;
    const fpr = benign.filter((s) => s >= threshold).length / benign.length;
    const meanMove = moved.reduce((a, b) => a + b, 0) / moved.length;
    rows.push([attack.name, pct(recall), meanMove.toFixed(3), pct(within), pct(fpr)]);
  }
  const header = ['attack', 'recall', 'mean |Δ|', 'within 0.05', 'look-alike FPR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  console.log(
    `\nEdgeGuard evasion bench: model ${manifest.version}, threshold ${threshold.toFixed(3)}, spans ${manifest.featurizer.spanTokens || 'off'}`,
  );
  console.log(`${HARMFUL_REQUESTS.length} harmful requests, ${BENIGN_LOOKALIKES.length} benign look-alikes (test/evasion)\n`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  const alpaca = join(values.data!, 'alpaca-eval.jsonl');
  if (existsSync(alpaca)) {
    const texts = (await readFile(alpaca, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { prompt: string }).prompt);
    const started = performance.now();
    const scores = await score(texts);
    const ms = (performance.now() - started) / texts.length;
    const fpr = scores.filter((s) => s >= threshold).length / scores.length;
    console.log(
      `\n  alpaca-eval (${texts.length} benign instructions): FPR ${pct(fpr)}; ${ms.toFixed(2)} ms per text (featurize + ORT, batched)`,
    );
  }
  console.log();
}

main().catch((error: Error) => {
  console.error(`bench:evasion: ${error.message}`);
  process.exitCode = 1;
});
