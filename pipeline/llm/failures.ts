/**
 * What a stage does when a request fails for good: a configuration error (bad key, unknown model,
 * wrong URL) stops the stage at once; any other failure is logged to `errors.jsonl`, that item is
 * left unwritten (a rerun asks again), and the stage goes on, unless failures keep coming back to
 * back, which means the server is gone and waiting longer would only burn time. At its end the
 * stage exits 1 when it lost more rows than `--allow-failures` allows, so `run` and scripts see it;
 * the rows it wrote stay.
 */
import { createAppender } from '../data/appender.ts';
import { CLIError } from '../errors.ts';
import { LlmError } from './llm-error.ts';

export interface FailurePolicy {
  succeeded(): void;
  /** Records a failed item; throws CLIError when the stage must stop. Non-LLM errors are rethrown as is. */
  failed(id: string, error: unknown): Promise<void>;
  count(): number;
  /**
   * Ends the stage: throws when it lost more rows than allowed. Call it once the rows and the
   * summary are written, which it leaves as they are.
   * @param stage the stage's name, for the message
   * @param allowed rows that may be lost (`--allow-failures`)
   * @param lost rows lost for good; default every failure of this run
   * @throws CLIError one line: how many rows were lost and where they are logged
   */
  check(stage: string, allowed: number, lost?: number): void;
}

/**
 * @param errorsPath JSONL file of failed items
 * @param maxConsecutive failures in a row that stop the stage (default 10)
 */
export function createFailurePolicy(errorsPath: string, maxConsecutive = 10): FailurePolicy {
  const errors = createAppender(errorsPath);
  let total = 0;
  let inARow = 0;
  return {
    succeeded() {
      inARow = 0;
    },
    async failed(id, error) {
      if (!(error instanceof LlmError)) throw error;
      if (error.fatal) throw new CLIError(error.message);
      total++;
      inARow++;
      await errors.append({ id, kind: error.kind, status: error.status, message: error.message, at: new Date().toISOString() });
      if (inARow >= maxConsecutive)
        throw new CLIError(`${inARow} requests failed in a row, stopping (rerun to resume); last: ${error.message}`);
    },
    count: () => total,
    check(stage, allowed, lost = total) {
      if (lost <= allowed) return;
      throw new CLIError(
        `${stage}: ${lost} ${lost === 1 ? 'row' : 'rows'} lost for good (requests that failed after their retries, logged in ${errorsPath}); ` +
          `the rows written are kept: rerun to ask again, or accept the loss with --allow-failures ${lost}`,
      );
    },
  };
}
