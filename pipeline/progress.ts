/**
 * Progress lines with rate and ETA on stderr, at most a few per second, so long stages say how
 * far they are without flooding logs. Silent when `quiet` is set (tests).
 */

export interface Progress {
  /** Records `done` of `total` units finished. */
  update(done: number, extra?: string): void;
  /** Prints the final line. */
  finish(extra?: string): void;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60
    ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * @param label what is being counted, e.g. 'train'
 * @param total units expected
 * @param options.quiet print nothing
 * @param options.intervalMs minimum time between lines (default 2000)
 * @example const p = createProgress('label', rows.length); p.update(10); p.finish();
 */
export function createProgress(label: string, total: number, options: { quiet?: boolean; intervalMs?: number } = {}): Progress {
  const start = performance.now();
  const interval = options.intervalMs ?? 2000;
  let last = 0;
  let done = 0;
  const line = (extra?: string) => {
    const seconds = (performance.now() - start) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const eta = total > done ? (total - done) / rate : 0;
    const pct = total ? ((100 * done) / total).toFixed(1) : '100';
    return `[${label}] ${done}/${total} (${pct}%) ${rate.toFixed(1)}/s, elapsed ${duration(seconds)}, eta ${duration(eta)}${extra ? `, ${extra}` : ''}`;
  };
  return {
    update(n, extra) {
      done = n;
      const now = performance.now();
      if (options.quiet || now - last < interval) return;
      last = now;
      process.stderr.write(`${line(extra)}\n`);
    },
    finish(extra) {
      if (!options.quiet) process.stderr.write(`${line(extra)}\n`);
    },
  };
}
