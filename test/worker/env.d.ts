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
    /** The local OpenAI-compatible server playing Llama Guard 3, e.g. http://127.0.0.1:41234/v1; see global-setup.ts. */
    teacherUrl: string;
  }
}

export {};
