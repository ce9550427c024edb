/** How the registry commands print sizes, dates and scores. */

/** e.g. "1.23 MB", "812 B". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** e.g. "2026-11-28 00:47Z": minutes are enough to tell deploys apart. */
export const formatDate = (date: Date | string): string => new Date(date).toISOString().slice(0, 16).replace('T', ' ') + 'Z';

/** A metric to three decimals, or "–" when there is none. */
export const formatMetric = (value: number | null | undefined): string => (typeof value === 'number' ? value.toFixed(3) : '–');
