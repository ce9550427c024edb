/// <reference types="@cloudflare/vitest-plugin/types" />

declare module 'vitest' {
  interface ProvidedContext {
    /** The shipped default model (model/), base64, when `model/` exists; see global-setup.ts. */
    shippedModel: {
      onnx: string;
      manifest: string;
      /** Texts and the scores `pipeline eval`'s scorer gives them (one per label). */
      parity: { items: { prompt: string; response: string | null }[]; scores: number[][] };
    } | null;
  }
}

export {};
