/**
 * The rollups' latency histogram: fixed bucket edges in µs, fine where real-time budgets live
 * (5 µs up to 100 µs), coarser above, and an overflow count for everything at or above the last edge.
 * Bucket `i` holds observations in `[edges[i], edges[i + 1])`.
 *
 * Every minute row stores its counts in this layout (`bigint[]`), so changing the edges needs a
 * migration that re-buckets or clears the stored rows.
 */
function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v < to; v += step) out.push(v);
  return out;
}

export const LATENCY_BUCKET_EDGES_US: readonly number[] = Object.freeze([
  ...steps(0, 100, 5),
  ...steps(100, 200, 10),
  200,
  250,
  300,
  400,
  500,
  750,
  1000,
  1500,
  2000,
]);

/** Number of buckets (the overflow is counted apart). */
export const LATENCY_BUCKETS = LATENCY_BUCKET_EDGES_US.length - 1;
/** Observations at or above this go to the overflow count. */
export const LATENCY_OVERFLOW_US = LATENCY_BUCKET_EDGES_US[LATENCY_BUCKETS];

/** A histogram in the rollup layout. */
export interface LatencyHistogram {
  /** `LATENCY_BUCKETS` counts. */
  readonly counts: number[];
  /** Observations at or above `LATENCY_OVERFLOW_US` (or that could be, see `addSourceHistogram`). */
  overflow: number;
}

export function emptyHistogram(): LatencyHistogram {
  return { counts: new Array<number>(LATENCY_BUCKETS).fill(0), overflow: 0 };
}

/** Index of the bucket holding `us`, or -1 for the overflow. Negative values count as 0. */
export function bucketIndex(us: number): number {
  if (!(us > 0)) return 0;
  if (us >= LATENCY_OVERFLOW_US) return -1;
  const e = LATENCY_BUCKET_EDGES_US;
  let lo = 0;
  let hi = LATENCY_BUCKETS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (e[mid] <= us) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Counts one observation (a telemetry sample's interval maximum). */
export function addObservation(h: LatencyHistogram, us: number, count = 1): void {
  const i = bucketIndex(us);
  if (i < 0) h.overflow += count;
  else h.counts[i] += count;
}

/** A cyclictest-style histogram as a health report carries it: counts[i] in [i·width, (i+1)·width) µs. */
export interface SourceHistogram {
  readonly bucketWidthUs: number;
  readonly counts: readonly number[];
  readonly overflow: number;
}

/**
 * Re-buckets a device's histogram into the rollup layout. A source bucket that straddles one of our
 * edges goes to the highest bucket it touches, so the re-bucketed histogram never makes latency look
 * better than it was (p99 may read high by up to one source bucket width, never low). With the usual
 * 1 µs width (`cyclictest -h`) nothing straddles: our edges are whole microseconds.
 */
export function addSourceHistogram(h: LatencyHistogram, src: SourceHistogram): void {
  const w = src.bucketWidthUs;
  const e = LATENCY_BUCKET_EDGES_US;
  let j = 0; // target bucket holding values just below the source bucket's upper edge
  for (let i = 0; i < src.counts.length; i++) {
    const c = src.counts[i];
    if (!c) continue;
    const upper = (i + 1) * w;
    if (upper > LATENCY_OVERFLOW_US) {
      h.overflow += c;
      continue;
    }
    while (j + 1 < LATENCY_BUCKETS && e[j + 1] < upper) j++;
    h.counts[j] += c;
  }
  h.overflow += src.overflow;
}

/** Adds `b` into `a`. */
export function mergeInto(a: LatencyHistogram, b: { counts: readonly number[]; overflow: number }): void {
  for (let i = 0; i < LATENCY_BUCKETS; i++) a.counts[i] += b.counts[i] ?? 0;
  a.overflow += b.overflow;
}

export function histogramTotal(h: { counts: readonly number[]; overflow: number }): number {
  let n = h.overflow;
  for (const c of h.counts) n += c;
  return n;
}

/**
 * The q-quantile (0 < q ≤ 1) estimated from the histogram: the bucket where the cumulative count
 * reaches q·total, linearly interpolated inside it (as Prometheus' histogram_quantile does), clamped
 * to the observed [min, max] when known. In the overflow it is the observed maximum, else the last
 * edge. null without observations.
 */
export function quantile(
  h: { counts: readonly number[]; overflow: number },
  q: number,
  observed: { min?: number | null; max?: number | null } = {},
): number | null {
  const total = histogramTotal(h);
  if (total === 0) return null;
  const rank = q * total;
  const e = LATENCY_BUCKET_EDGES_US;
  let cumulative = 0;
  let value: number | null = null;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    const c = h.counts[i];
    if (c > 0 && cumulative + c >= rank) {
      value = e[i] + ((rank - cumulative) / c) * (e[i + 1] - e[i]);
      break;
    }
    cumulative += c;
  }
  if (value === null) return observed.max ?? LATENCY_OVERFLOW_US;
  if (observed.max !== undefined && observed.max !== null) value = Math.min(value, observed.max);
  if (observed.min !== undefined && observed.min !== null) value = Math.max(value, observed.min);
  return value;
}

/** A bucket as the API shows it. */
export interface HistogramBucket {
  readonly fromUs: number;
  /** null for the overflow bucket (open-ended). */
  readonly toUs: number | null;
  readonly count: number;
}

/** The histogram as a list of buckets, the overflow last. */
export function toBuckets(h: { counts: readonly number[]; overflow: number }): HistogramBucket[] {
  const e = LATENCY_BUCKET_EDGES_US;
  const out: HistogramBucket[] = h.counts.map((count, i) => ({ fromUs: e[i], toUs: e[i + 1], count }));
  out.push({ fromUs: LATENCY_OVERFLOW_US, toUs: null, count: h.overflow });
  return out;
}

/** Reads a stored `bigint[]` (pg hands int8 as strings) into the layout; null → empty. */
export function fromStored(counts: readonly (string | number)[] | null, overflow: string | number | null) {
  const h = emptyHistogram();
  if (counts) for (let i = 0; i < LATENCY_BUCKETS; i++) h.counts[i] = Number(counts[i] ?? 0);
  h.overflow = Number(overflow ?? 0);
  return h;
}
