import type { HistogramBucket } from './histogram';

export interface RenderHistogramOptions {
  /** Columns of the longest bar. Default 40. */
  readonly width?: number;
  /** Bar lengths proportional to the count (default) or to its logarithm (tails stay visible). */
  readonly scale?: 'linear' | 'log';
  /** Draws a line at this latency (µs), e.g. the VM's budget, labelled `markLabel`. */
  readonly markUs?: number;
  readonly markLabel?: string;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `cells` columns (fractions drawn in eighths), at least a sliver for any count above 0. */
function bar(cells: number, nonZero: boolean): string {
  const eighths = Math.max(nonZero ? 1 : 0, Math.round(cells * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

const label = (b: HistogramBucket) => (b.toUs === null ? `≥${b.fromUs}` : `${b.fromUs}–${b.toUs}`);

function percent(count: number, total: number): string {
  if (count === 0) return '';
  const p = (count / total) * 100;
  return p < 0.1 ? '<0.1%' : `${p.toFixed(1)}%`;
}

/**
 * A latency histogram as a text bar chart, one line per bucket from the first to the last non-empty
 * one (stretched to include the mark; runs of empty buckets share one row), with counts and shares:
 *
 * ```
 *   0–5 µs  │████████████████████████████████████████  60,120  62.1%
 *   5–10 µs │█████████████▋                            20,514  21.2%
 * ╌╌╌╌╌╌╌╌╌╌┼╌ budget 50 µs
 *  50–55 µs │▏                                              3  <0.1%
 * ```
 * Pure: the same buckets give the same string.
 */
export function renderHistogram(
  buckets: readonly HistogramBucket[],
  options: RenderHistogramOptions = {},
): string {
  const width = Math.max(1, options.width ?? 40);
  const total = buckets.reduce((n, b) => n + b.count, 0);
  if (total === 0) return '(no latency observations)';

  let first = buckets.findIndex((b) => b.count > 0);
  let last = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.count > 0);
  const mark = options.markUs;
  // The mark goes above the first bucket at or past it; show the buckets up to there.
  let markAt = mark === undefined ? -1 : buckets.findIndex((b) => b.fromUs >= mark);
  if (mark !== undefined && markAt < 0) markAt = buckets.length; // past the last edge: below everything
  if (markAt >= 0) {
    first = Math.min(first, Math.max(0, markAt - 1));
    last = Math.max(last, Math.min(buckets.length - 1, markAt));
  }

  // Runs of empty buckets become one row (the mark still splits them), so the picture stays short.
  const rows: (HistogramBucket & { markBefore: boolean })[] = [];
  for (let i = first; i <= last; i++) {
    const b = buckets[i];
    const prev = rows[rows.length - 1];
    if (b.count === 0 && prev && prev.count === 0 && i !== markAt) {
      rows[rows.length - 1] = { ...prev, toUs: b.toUs };
    } else {
      rows.push({ ...b, markBefore: i === markAt });
    }
  }

  const max = Math.max(...rows.map((b) => b.count));
  const size = (c: number) =>
    options.scale === 'log' ? (Math.log1p(c) / Math.log1p(max)) * width : (c / max) * width;
  const labels = rows.map((b) => `${label(b)} µs`);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const counts = rows.map((b) => b.count.toLocaleString('en-US'));
  const countWidth = Math.max(...counts.map((c) => c.length));

  const lines: string[] = [];
  const markLine = () => `${'╌'.repeat(labelWidth + 1)}┼╌ ${options.markLabel ?? `${mark} µs`}`;
  rows.forEach((b, i) => {
    if (b.markBefore) lines.push(markLine());
    const drawn = bar(size(b.count), b.count > 0).padEnd(width);
    lines.push(
      `${labels[i].padStart(labelWidth)} │${drawn}  ${counts[i].padStart(countWidth)}  ${percent(b.count, total)}`.trimEnd(),
    );
  });
  if (markAt > last) lines.push(markLine());
  return lines.join('\n');
}
