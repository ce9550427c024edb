/**
 * The pipeline's one user-facing error. `cli.ts` prints its message on one line and exits 1;
 * anything else that escapes is a bug and prints its stack.
 */
export class CLIError extends Error {
  override name = 'CLIError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
