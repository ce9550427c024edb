/**
 * A fixed number of workers pulling items until there are none left or one fails: the shape of
 * every LLM stage (bounded memory, bounded requests in flight, stop early on a fatal error).
 */

/**
 * Runs `work` over the items `next()` hands out, `concurrency` at a time. `next` returns
 * undefined when there is nothing more to do (it is asked again whenever a worker is free, so it
 * may decide from progress so far). The first error stops new work and is rethrown once the
 * items in flight have settled.
 * @example await runPool(() => queue.shift(), 8, async (row) => label(row))
 */
export async function runPool<T>(next: () => T | undefined, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (!failure) {
      const item = next();
      if (item === undefined) return;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}
