import type { Sql } from '../framework/projection';
import {
  LATENCY_BUCKET_EDGES_US,
  fromStored,
  histogramTotal,
  quantile,
  toBuckets,
  type HistogramBucket,
} from './histogram';
import { MINUTE_MS, type RollupFigures } from './rollup';

/** Rollup resolutions, rolled up from the minute rows; buckets align to UTC (minutes since the epoch). */
export const ROLLUP_BUCKETS = { '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '1h': 60 * MINUTE_MS } as const;
export type RollupBucket = keyof typeof ROLLUP_BUCKETS;

export interface RollupQuery {
  readonly deviceId: string;
  /** One VM, or every VM of the device (one series each). */
  readonly vmName?: string;
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
  readonly bucket: RollupBucket;
}

export interface RollupPoint extends RollupFigures {
  /** Start of the bucket. */
  readonly start: string;
}

export interface RollupSeries {
  readonly vmName: string;
  readonly points: RollupPoint[];
}

interface AggregateRow {
  samples: number;
  cpu_sum: number;
  cpu_max: number | null;
  mem_sum: number;
  mem_max: number | null;
  lat_obs: number;
  lat_sum: number;
  lat_min: number | null;
  lat_max: number | null;
  hist: string[] | null;
  overflow: number;
  health_reports: number;
}

const AGGREGATES = `sum(samples)::float8 AS samples, sum(cpu_sum) AS cpu_sum, max(cpu_max) AS cpu_max,
  sum(mem_sum) AS mem_sum, max(mem_max)::float8 AS mem_max, sum(lat_obs)::float8 AS lat_obs,
  sum(lat_sum) AS lat_sum, min(lat_min) AS lat_min, max(lat_max) AS lat_max,
  rm.telemetry_hist_sum(hist) AS hist, sum(overflow)::float8 AS overflow,
  sum(health_reports)::float8 AS health_reports`;

const WHERE = `device_id = $1 AND ($2::text IS NULL OR vm_name = $2) AND minute >= $3 AND minute < $4`;

function figures(r: AggregateRow): RollupFigures {
  const samples = Number(r.samples);
  const obs = Number(r.lat_obs);
  const hist = fromStored(r.hist, r.overflow);
  const num = (x: number | null) => (x === null ? null : Number(x));
  return {
    samples,
    cpuPercent: { avg: samples ? round(r.cpu_sum / samples, 3) : null, max: num(r.cpu_max) },
    memoryBytes: { avg: samples ? Math.round(r.mem_sum / samples) : null, max: num(r.mem_max) },
    latencyUs: {
      observations: obs,
      min: num(r.lat_min),
      avg: obs ? round(r.lat_sum / obs, 3) : null,
      max: num(r.lat_max),
      p99: roundOrNull(quantile(hist, 0.99, { min: r.lat_min, max: r.lat_max })),
      overflow: hist.overflow,
    },
    healthReports: Number(r.health_reports),
  };
}

/** Rollups of a device (or one of its VMs) over [from, to), per bucket. */
export async function queryRollups(sql: Sql, q: RollupQuery): Promise<RollupSeries[]> {
  const seconds = ROLLUP_BUCKETS[q.bucket] / 1000;
  const { rows } = await sql.query<AggregateRow & { vm_name: string; start: Date }>(
    `SELECT vm_name, to_timestamp(floor(extract(epoch FROM minute) / $5) * $5) AS start, ${AGGREGATES}
       FROM rm.telemetry_minute WHERE ${WHERE}
      GROUP BY vm_name, start ORDER BY vm_name, start`,
    [q.deviceId, q.vmName ?? null, q.from.toISOString(), q.to.toISOString(), seconds],
  );
  const series = new Map<string, RollupPoint[]>();
  for (const r of rows) {
    const points = series.get(r.vm_name) ?? [];
    points.push({ start: new Date(r.start).toISOString(), ...figures(r) });
    series.set(r.vm_name, points);
  }
  return [...series.entries()].map(([vmName, points]) => ({ vmName, points }));
}

export interface HistogramQuery {
  readonly deviceId: string;
  readonly vmName?: string;
  readonly from: Date;
  readonly to: Date;
}

export interface LatencyHistogramReport {
  readonly bucketEdgesUs: readonly number[];
  /** Every bucket in order, the open-ended overflow last. */
  readonly buckets: HistogramBucket[];
  /** Observations in the histogram. */
  readonly total: number;
  /** Minutes with data. */
  readonly minutes: number;
  readonly latencyUs: {
    readonly min: number | null;
    readonly avg: number | null;
    readonly max: number | null;
    readonly p50: number | null;
    readonly p90: number | null;
    readonly p99: number | null;
    readonly p999: number | null;
  };
}

/** The merged latency histogram of a device (or one VM) over [from, to). */
export async function queryLatencyHistogram(sql: Sql, q: HistogramQuery): Promise<LatencyHistogramReport> {
  const { rows } = await sql.query<AggregateRow & { minutes: string }>(
    `SELECT count(DISTINCT minute) AS minutes, ${AGGREGATES} FROM rm.telemetry_minute
      WHERE ${WHERE} AND lat_max IS NOT NULL`,
    [q.deviceId, q.vmName ?? null, q.from.toISOString(), q.to.toISOString()],
  );
  const r = rows[0];
  const hist = fromStored(r?.hist ?? null, r?.overflow ?? 0);
  const observed = { min: r?.lat_min ?? null, max: r?.lat_max ?? null };
  const q_ = (p: number) => roundOrNull(quantile(hist, p, observed));
  const obs = Number(r?.lat_obs ?? 0);
  return {
    bucketEdgesUs: LATENCY_BUCKET_EDGES_US,
    buckets: toBuckets(hist),
    total: histogramTotal(hist),
    minutes: Number(r?.minutes ?? 0),
    latencyUs: {
      min: observed.min === null ? null : Number(observed.min),
      avg: obs ? round(Number(r.lat_sum) / obs, 3) : null,
      max: observed.max === null ? null : Number(observed.max),
      p50: q_(0.5),
      p90: q_(0.9),
      p99: q_(0.99),
      p999: q_(0.999),
    },
  };
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const roundOrNull = (x: number | null) => (x === null ? null : round(x, 3));
