import type { Pool } from 'pg';
import type { EventTransport, TransportSubscription } from '@hyperfleet/messaging';
import { inTransaction } from '../framework/apply';
import type { Sql } from '../framework/projection';
import { MinuteRollups, parseRecord, parseTime, type MinuteAccumulator, type ParsedRecord } from './rollup';
import { SeqWindow } from './seq-window';

/** The runner's name: its consumer group is `projector.telemetry-rollups`. */
export const TELEMETRY_ROLLUPS = 'telemetry-rollups';

/** A telemetry-channel record as the transport delivers it (a `Delivery` is one). */
export interface TelemetryRecordIn {
  readonly key: string;
  readonly event: { readonly type: string; readonly time?: string; readonly data: unknown };
}

export interface TelemetryBatchResult {
  /** Records of the batch the rollups read (telemetry and health). */
  readonly records: number;
  /** Of those, applied now. */
  readonly applied: number;
  /** Seen before: a redelivery. */
  readonly duplicates: number;
  /** Too far below the device's high-water mark to tell (see SeqWindow): not applied. */
  readonly stale: number;
  /** Refused as off-contract (no device id, epoch or seq; malformed). */
  readonly invalid: number;
  /** Telemetry samples applied. */
  readonly samples: number;
  /** Minute rows written. */
  readonly rows: number;
}

interface DeviceTally {
  window: SeqWindow;
  records: number;
  samples: number;
  duplicates: number;
  stale: number;
  invalid: number;
  dropped: number;
  lastAt: number | null;
}

/**
 * Applies a batch of telemetry-channel records inside the caller's transaction: dedupes each device's
 * records by (epoch, seq) against its stored window (rows locked FOR UPDATE, in device order), adds
 * the fresh ones into minute rows with one multi-row upsert, and stores the new windows. Commit that
 * transaction before the transport records progress, and a redelivery finds its records already in
 * the windows.
 */
export async function applyTelemetryRecords(
  sql: Sql,
  records: readonly TelemetryRecordIn[],
): Promise<TelemetryBatchResult> {
  const items: { deviceId: string; parsed: ParsedRecord | 'invalid'; at: number }[] = [];
  let noDevice = 0;
  for (const r of records) {
    const parsed = parseRecord(r);
    if (parsed === null) continue;
    if (parsed === 'no-device') {
      noDevice++;
      continue;
    }
    const at = parseTime(r.event.time) ?? NaN;
    items.push({ deviceId: r.key, parsed, at });
  }
  const result = {
    records: items.length + noDevice,
    applied: 0,
    duplicates: 0,
    stale: 0,
    invalid: noDevice,
    samples: 0,
    rows: 0,
  };
  if (items.length === 0) return result;

  const tallies = await lockDevices(sql, [...new Set(items.map((i) => i.deviceId))].sort());
  const rollups = new MinuteRollups();
  for (const { deviceId, parsed, at } of items) {
    const t = tallies.get(deviceId)!;
    if (Number.isFinite(at)) t.lastAt = Math.max(t.lastAt ?? at, at);
    if (parsed === 'invalid') {
      t.invalid++;
      result.invalid++;
      continue;
    }
    const verdict = t.window.admit(parsed.epoch, parsed.seq);
    if (verdict === 'duplicate') {
      t.duplicates++;
      result.duplicates++;
      continue;
    }
    if (verdict === 'stale') {
      t.stale++;
      result.stale++;
      continue;
    }
    rollups.add(parsed);
    t.records++;
    t.invalid += parsed.invalid;
    result.applied++;
    if (parsed.kind === 'telemetry') {
      t.samples += parsed.samples.length;
      t.dropped += parsed.droppedSamples;
      result.samples += parsed.samples.length;
    }
  }

  const rows = rollups.list();
  if (rows.length) await upsertMinutes(sql, rows);
  await storeDevices(sql, tallies);
  return { ...result, rows: rows.length };
}

/** One transaction around applyTelemetryRecords. */
export function applyTelemetryBatch(
  pool: Pool,
  records: readonly TelemetryRecordIn[],
): Promise<TelemetryBatchResult> {
  return inTransaction(pool, (client) => applyTelemetryRecords(client, records));
}

async function lockDevices(sql: Sql, ids: string[]): Promise<Map<string, DeviceTally>> {
  type Row = { device_id: string; epoch: string; hwm: string; seen: Buffer | null };
  // One statement creates the missing rows and locks every row in device order: locking the existing
  // rows first and inserting the new ones after let two instances wait on each other (a deadlock).
  const { rows } = await sql.query<Row>(
    `INSERT INTO rm.telemetry_ingest_state AS s (device_id) SELECT unnest($1::text[])
       ON CONFLICT (device_id) DO UPDATE SET device_id = s.device_id
       RETURNING device_id, epoch, hwm, seen`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.device_id,
      {
        window: new SeqWindow(Number(r.epoch), Number(r.hwm), r.seen),
        records: 0,
        samples: 0,
        duplicates: 0,
        stale: 0,
        invalid: 0,
        dropped: 0,
        lastAt: null,
      },
    ]),
  );
}

async function storeDevices(sql: Sql, tallies: Map<string, DeviceTally>): Promise<void> {
  const list = [...tallies.entries()];
  await sql.query(
    `UPDATE rm.telemetry_ingest_state AS s SET
       epoch = u.epoch, hwm = u.hwm, seen = u.seen,
       records = s.records + u.records, samples = s.samples + u.samples,
       duplicates = s.duplicates + u.duplicates, stale = s.stale + u.stale, invalid = s.invalid + u.invalid,
       dropped_samples = s.dropped_samples + u.dropped,
       last_record_at = GREATEST(s.last_record_at, u.last_at), updated_at = now()
     FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[],
                 $8::bigint[], $9::bigint[], $10::bigint[], $11::timestamptz[])
       AS u(device_id, epoch, hwm, seen, records, samples, duplicates, stale, invalid, dropped, last_at)
     WHERE s.device_id = u.device_id`,
    [
      list.map(([id]) => id),
      list.map(([, t]) => t.window.epoch),
      list.map(([, t]) => t.window.hwm),
      list.map(([, t]) => Buffer.from(t.window.bits)),
      list.map(([, t]) => t.records),
      list.map(([, t]) => t.samples),
      list.map(([, t]) => t.duplicates),
      list.map(([, t]) => t.stale),
      list.map(([, t]) => t.invalid),
      list.map(([, t]) => t.dropped),
      list.map(([, t]) => (t.lastAt === null ? null : new Date(t.lastAt).toISOString())),
    ],
  );
}

/**
 * Adds the accumulators to their minute rows: one statement, rows in key order. The conflict rules
 * are the accumulator's: sums add, extremes compare (GREATEST/LEAST ignore nulls), histograms add.
 */
async function upsertMinutes(sql: Sql, rows: readonly MinuteAccumulator[]): Promise<void> {
  await sql.query(
    `INSERT INTO rm.telemetry_minute AS t (device_id, vm_name, minute, samples, cpu_sum, cpu_max, mem_sum,
       mem_max, lat_obs, lat_sum, lat_min, lat_max, hist, overflow, health_reports)
     SELECT d, v, m, s, cs, cm, ms, mm, lo, ls, lmin, lmax, h::bigint[], o, hr
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::float8[], $6::float8[],
                   $7::float8[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[], $12::float8[],
                   $13::text[], $14::bigint[], $15::bigint[])
         AS u(d, v, m, s, cs, cm, ms, mm, lo, ls, lmin, lmax, h, o, hr)
     ON CONFLICT (device_id, vm_name, minute) DO UPDATE SET
       samples = t.samples + EXCLUDED.samples,
       cpu_sum = t.cpu_sum + EXCLUDED.cpu_sum,
       cpu_max = GREATEST(t.cpu_max, EXCLUDED.cpu_max),
       mem_sum = t.mem_sum + EXCLUDED.mem_sum,
       mem_max = GREATEST(t.mem_max, EXCLUDED.mem_max),
       lat_obs = t.lat_obs + EXCLUDED.lat_obs,
       lat_sum = t.lat_sum + EXCLUDED.lat_sum,
       lat_min = LEAST(t.lat_min, EXCLUDED.lat_min),
       lat_max = GREATEST(t.lat_max, EXCLUDED.lat_max),
       hist = rm.telemetry_hist_add(t.hist, EXCLUDED.hist),
       overflow = t.overflow + EXCLUDED.overflow,
       health_reports = t.health_reports + EXCLUDED.health_reports,
       updated_at = now()`,
    [
      rows.map((r) => r.deviceId),
      rows.map((r) => r.vmName),
      rows.map((r) => new Date(r.minute).toISOString()),
      rows.map((r) => r.samples),
      rows.map((r) => r.cpuSum),
      rows.map((r) => r.cpuMax),
      rows.map((r) => r.memSum),
      rows.map((r) => r.memMax),
      rows.map((r) => r.latObs),
      rows.map((r) => r.latSum),
      rows.map((r) => r.latMin),
      rows.map((r) => r.latMax),
      rows.map((r) => (r.hist ? `{${r.hist.counts.join(',')}}` : null)),
      rows.map((r) => r.hist?.overflow ?? 0),
      rows.map((r) => r.healthReports),
    ],
  );
}

export interface TelemetryRunnerOptions {
  readonly pool: Pool;
  readonly transport: EventTransport;
  readonly log?: (line: string) => void;
  /** Called after each committed batch (metrics, benchmarks). */
  readonly onBatch?: (r: TelemetryBatchResult) => void;
}

/**
 * Keeps the telemetry rollups live: consumes the telemetry channel in group
 * `projector.telemetry-rollups` and applies each batch in one transaction that commits before the
 * handler resolves, so the transport moves its offsets or checkpoint only past committed work. A batch
 * that fails (the database away) is delivered again; the dedupe makes that harmless.
 *
 * Unlike the device-events projections, the rollups cannot be rebuilt from the event store:
 * telemetry never enters it. A new group re-reads what the channel still retains.
 */
export class TelemetryRollupRunner {
  private subscription: TransportSubscription | null = null;
  /** Since start: what went in, for throughput figures. */
  readonly totals = { batches: 0, records: 0, applied: 0, duplicates: 0, samples: 0 };

  constructor(private readonly o: TelemetryRunnerOptions) {}

  readonly name = TELEMETRY_ROLLUPS;

  get group(): string {
    return `projector.${TELEMETRY_ROLLUPS}`;
  }

  async start(): Promise<void> {
    this.subscription = await this.o.transport.subscribe({
      group: this.group,
      channel: 'telemetry',
      handle: async (batch) => void (await this.handle(batch)),
      onError: (err) => this.o.log?.(`${TELEMETRY_ROLLUPS}: ${(err as Error).message}`),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    await this.subscription?.waitUntilCaughtUp(timeoutMs);
  }

  async handle(batch: readonly TelemetryRecordIn[]): Promise<TelemetryBatchResult> {
    const r = await applyTelemetryBatch(this.o.pool, batch);
    this.totals.batches++;
    this.totals.records += r.records;
    this.totals.applied += r.applied;
    this.totals.duplicates += r.duplicates;
    this.totals.samples += r.samples;
    if (r.invalid || r.stale) {
      this.o.log?.(`${TELEMETRY_ROLLUPS}: ${r.invalid} invalid and ${r.stale} stale records not applied`);
    }
    this.o.onBatch?.(r);
    return r;
  }
}
