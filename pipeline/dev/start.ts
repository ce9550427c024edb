#!/usr/bin/env node
/**
 * `npm start`: seeds the local R2 bucket (the one `wrangler dev` serves) with the model in
 * `model/` (deployed and made current, see `seed.ts`), then serves the worker on
 * http://127.0.0.1:$PORT (default 8787). `--model <dir>` seeds another folder; `--var KEY:VALUE`
 * (repeatable) sets a worker var for this run, as `wrangler dev --var` does (e.g. the cascade's
 * `TEACHER_URL:http://127.0.0.1:8001/v1`).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIError } from '../errors.ts';
import { createLocalStore } from '../registry/local-r2.ts';
import { readDeployable } from '../registry/versions.ts';
import { seedLocal, type Seeded } from './seed.ts';
import { ROOT, bucketName, wranglerSpawn } from '../wrangler/wrangler.ts';

class StartError extends Error {}

function port(): number {
  const raw = process.env.PORT ?? '8787';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new StartError(`PORT must be a port number, got '${raw}'`);
  return value;
}

async function seed(dir: string, reset: boolean): Promise<Seeded> {
  const folder = await readDeployable(dir);
  const store = await createLocalStore({ bucket: bucketName() });
  try {
    return await seedLocal(store, folder, { reset });
  } finally {
    await store.close();
  }
}

try {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'model' },
      reset: { type: 'boolean', default: false },
      var: { type: 'string', multiple: true, default: [] },
    },
  });
  const bad = values.var.find((v) => !/^[A-Za-z_][A-Za-z0-9_]*:/.test(v));
  if (bad !== undefined) throw new StartError(`--var: '${bad}' is not KEY:VALUE`);
  const listen = port();
  const { serving, seeded } = await seed(resolve(ROOT, values.model), values.reset);
  console.log(
    serving === seeded
      ? `edgeguard: serving model ${serving} from the local R2 on http://127.0.0.1:${listen}`
      : `edgeguard: serving model ${serving} (promoted by hand; \`npm start -- --reset\` serves ${seeded}) on http://127.0.0.1:${listen}`,
  );
  const dev = wranglerSpawn(['dev', '--ip', '127.0.0.1', '--port', String(listen), ...values.var.flatMap((v) => ['--var', v])]);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => dev.kill(signal));
  dev.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} catch (error) {
  // parseArgs's own errors (an unknown flag, a flag without its value) are the user's, not bugs
  const userError =
    error instanceof StartError ||
    error instanceof CLIError ||
    (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_'));
  if (!userError) throw error;
  console.error(`edgeguard: ${error.message}`);
  process.exitCode = 1;
}
