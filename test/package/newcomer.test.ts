/**
 * What a newcomer tripped on (issue 17), each held to what the repository says: the Node and npm
 * claims of the README against package.json and the lock, the install scripts npm would warn
 * about, commands that need Node 22 on the PATH, and examples in the READMEs (the top-level one,
 * src/README.md for the API, pipeline/README.md for the registry) that the shipped model or the
 * API contradicted; and the README's Layout, which names every folder.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGate } from '../../pipeline/registry/gate.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { ManifestSchema } from '../../src/guard/manifest.ts';
import { ROOT } from './harness.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The worker's page: the API in full. */
const SRC_README = readFileSync(join(ROOT, 'src', 'README.md'), 'utf8');
/** The pipeline's page: the registry's commands and gate. */
const PIPELINE_README = readFileSync(join(ROOT, 'pipeline', 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; hasInstallScript?: boolean }>;
};
const MANIFEST = ManifestSchema.parse(JSON.parse(readFileSync(join(ROOT, 'model', 'manifest.json'), 'utf8')));

/** A README section: from its heading to the next heading of the same level or above. */
function section(heading: string, readme = README): string {
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading ${heading}`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = readme.slice(start + heading.length);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return rest.slice(0, next?.index ?? rest.length);
}

/** The commands the READMEs give: the lines of their ```sh blocks and their inline code. */
const commands = [README, SRC_README, PIPELINE_README]
  .flatMap((readme) => [
    ...[...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')),
    ...[...readme.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!),
  ])
  .map((line) => line.trim());

/**
 * Whether a package.json `engines.node` range admits Node 20, as npm's EBADENGINE check does for
 * the ranges in this lock (alternatives joined by `||`, each a lower bound `>=`, `^` or `~` and at
 * most an upper bound `<`).
 */
function admitsNode20(range: string): boolean {
  return range.split('||').some((alternative) => {
    const lower = /(?:>=|\^|~|^\s*)(\d+)/.exec(alternative.trim());
    const upper = /<\s*(\d+)/.exec(alternative);
    return (!lower || Number(lower[1]) <= 20) && (!upper || Number(upper[1]) > 20);
  });
}

describe('Node and npm', () => {
  it('claims in the README the Node that package.json requires', () => {
    expect(PACKAGE.engines.node).toBe('>=20');
    expect(section('## Two commands')).toContain('any Node >= 20');
  });

  it('counts in the README the EBADENGINE warnings npm ci prints on Node 20: the locked packages that want more', () => {
    const wanting = Object.entries(LOCK.packages).filter(
      ([, p]) => typeof p.engines === 'object' && !Array.isArray(p.engines) && p.engines.node && !admitsNode20(p.engines.node),
    );
    expect(wanting.length).toBeGreaterThan(0);
    expect(section('## Two commands')).toContain(`**${wanting.length} \`EBADENGINE\` warnings**`);
  });

  it('runs every command the READMEs give through npm, so none needs Node 22 on the PATH (Node 20 cannot run .ts)', () => {
    expect(commands.filter((command) => /^node\s+\S+\.ts\b/.test(command))).toEqual([]);
  });

  it('decides every install script npm would run in allowScripts, onnxruntime-node denied, and keeps no key npm does not know in .npmrc', () => {
    const withScripts = new Set(
      Object.entries(LOCK.packages)
        .filter(([, p]) => p.hasInstallScript)
        .map(([path]) => path.replace(/^.*node_modules\//, '')),
    );
    expect([...withScripts].filter((name) => !(name in PACKAGE.allowScripts))).toEqual([]);
    expect(PACKAGE.allowScripts['onnxruntime-node']).toBe(false);
    const npmrc = join(ROOT, '.npmrc');
    if (existsSync(npmrc)) expect(readFileSync(npmrc, 'utf8')).not.toMatch(/^\s*onnxruntime-node-install\s*=/m);
  });
});

describe("the READMEs' examples", () => {
  it('lists every error code the API answers in its table of errors', () => {
    const table = section('### Errors and limits', SRC_README);
    expect(ERROR_CODES.filter((code) => !table.includes(`\`${code}\``))).toEqual([]);
  });

  it('shows moderation categories only the shipped model reports', () => {
    const example = section("### `POST /v1/moderations`: OpenAI's moderation API", SRC_README);
    const shown = [...example.matchAll(/"categories":\{([^}]*)\}/g)].flatMap((m) =>
      [...m[1]!.matchAll(/"([a-z/-]+)":(?:true|false)/g)].map((k) => k[1]!),
    );
    const mapped = new Set<string>(Object.values(MANIFEST.openaiCategories).flat());
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((key) => !mapped.has(key))).toEqual([]);
  });

  it('gives a deploy gate the shipped model passes', () => {
    const gate = JSON.parse(/```json\n(\{ "minAuprc"[^\n]*\})\n```/.exec(section('### The gate', PIPELINE_README))![1]!);
    expect(checkGate(MANIFEST, gate)).toEqual([]);
    const flags = /--min-auprc ([\d.]+) --max-fpr ([\d.]+) --gate-sources (\S+)/.exec(section('### The gate', PIPELINE_README))!;
    expect(checkGate(MANIFEST, { minAuprc: Number(flags[1]), maxFpr: Number(flags[2]), sources: flags[3]!.split(',') })).toEqual([]);
  });
});

describe("the README's Layout", () => {
  /** Every folder under `dir` (relative to the repository), without node_modules and dot folders. */
  const folders = (dir: string): string[] => [
    dir,
    ...readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
      .flatMap((entry) => folders(`${dir}/${entry.name}`)),
  ];

  it('names every top-level entry and every folder of src/, pipeline/ and test/', () => {
    const layout = section('## Layout');
    const top = ['package.json', 'package-lock.json', 'tsconfig.json', 'wrangler.toml', 'README.md', '.ci/', 'model/'];
    const named = [...top, ...['src', 'pipeline', 'test'].flatMap(folders).map((dir) => `${dir}/`)];
    expect(named.length).toBeGreaterThan(top.length + 3);
    expect(named.filter((name) => !layout.includes(`\`${name}\``))).toEqual([]);
  });
});
