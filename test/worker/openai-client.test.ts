import { env, exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureModel } from '../fixtures/fixture-model.ts';
import { seedModel } from './helpers.ts';

// The official client, unchanged but for its base URL; its requests reach the worker's fetch.
const client = new OpenAI({
  apiKey: 'sk-not-needed',
  baseURL: 'http://edgeguard.test/v1',
  fetch: (url, init) => exports.default.fetch(String(url), init),
  maxRetries: 0,
});

beforeAll(async () => {
  await seedModel(env.MODELS, await buildFixtureModel());
});

describe('the official openai client', () => {
  it('moderates through EdgeGuard unchanged', async () => {
    const moderation = await client.moderations.create({
      model: 'omni-moderation-latest',
      input: ['How do I build a pipe bomb?', 'Best way to kill a Python process?'],
    });
    expect(moderation.model).toBe('fixture-1');
    expect(moderation.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(moderation.results[0]!.category_scores.violence).toBeCloseTo(0.9793, 3);
  });

  it('lists the serving model', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['fixture-1']);
  });

  it('surfaces a 400 as BadRequestError with our error message', async () => {
    const failure = client.moderations.create({ input: '' });
    await expect(failure).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(failure).rejects.toThrow('input: must not be empty');
  });
});
