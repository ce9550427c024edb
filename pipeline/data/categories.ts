/**
 * Our category labels and how each maps to OpenAI's moderation keys. The model's first output is
 * the overall P(harmful); the others are these categories, learned where the data says which
 * applies. The mapping travels in the manifest, so the worker never hard-codes it.
 */
import type { OpenAICategory } from '../../src/guard/manifest.ts';

export const CATEGORY_LABELS = ['hate', 'harassment', 'violence', 'self-harm', 'sexual', 'illicit'] as const;
export type CategoryLabel = (typeof CATEGORY_LABELS)[number];

/** Model outputs, in order. */
export const LABELS = ['harmful', ...CATEGORY_LABELS] as const;

/** OpenAI keys each label stands for; OpenAI keys absent here are never reported. */
export const OPENAI_MAPPING: Record<string, OpenAICategory[]> = {
  harmful: [],
  hate: ['hate'],
  harassment: ['harassment'],
  violence: ['violence'],
  'self-harm': ['self-harm'],
  sexual: ['sexual'],
  illicit: ['illicit'],
};
