import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Telemetry rollups: one row per (device, VM, minute), the per-device dedupe state of the telemetry
 * channel, and the histogram arithmetic the upsert and the queries use.
 */
export class TelemetryRollups1700000000500 implements MigrationInterface {
  name = 'TelemetryRollups1700000000500';

  async up(q: QueryRunner): Promise<void> {
    // Sums and extremes that add up across batches; the histogram is in the layout of
    // LATENCY_BUCKET_EDGES_US (null for VMs without latency). fillfactor leaves room for HOT updates:
    // a minute is updated by every batch that touches it.
    await q.query(`CREATE TABLE rm.telemetry_minute (
      device_id text NOT NULL,
      vm_name text NOT NULL,
      minute timestamptz NOT NULL,
      samples bigint NOT NULL DEFAULT 0,
      cpu_sum double precision NOT NULL DEFAULT 0,
      cpu_max double precision,
      mem_sum double precision NOT NULL DEFAULT 0,
      mem_max bigint,
      lat_obs bigint NOT NULL DEFAULT 0,
      lat_sum double precision NOT NULL DEFAULT 0,
      lat_min double precision,
      lat_max double precision,
      hist bigint[],
      overflow bigint NOT NULL DEFAULT 0,
      health_reports bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (device_id, vm_name, minute)
    ) WITH (fillfactor = 80)`);
    // The fleet SLO view reads every RT VM's minutes of a window: only rows with latency are indexed.
    await q.query(
      `CREATE INDEX telemetry_minute_latency_idx ON rm.telemetry_minute (minute) WHERE lat_max IS NOT NULL`,
    );

    // Dedupe by the agent's (epoch, seq), updated in the transaction of the rollup writes (SeqWindow).
    await q.query(`CREATE TABLE rm.telemetry_ingest_state (
      device_id text PRIMARY KEY,
      epoch bigint NOT NULL DEFAULT 0,
      hwm bigint NOT NULL DEFAULT -1,
      seen bytea,
      records bigint NOT NULL DEFAULT 0,
      samples bigint NOT NULL DEFAULT 0,
      duplicates bigint NOT NULL DEFAULT 0,
      stale bigint NOT NULL DEFAULT 0,
      invalid bigint NOT NULL DEFAULT 0,
      dropped_samples bigint NOT NULL DEFAULT 0,
      last_record_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);

    // Element-wise sum of two histograms (either may be null), and its aggregate.
    await q.query(`CREATE FUNCTION rm.telemetry_hist_add(a bigint[], b bigint[]) RETURNS bigint[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE
          ARRAY(SELECT coalesce(x, 0) + coalesce(y, 0) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) ORDER BY i)
        END
      $$`);
    await q.query(`CREATE AGGREGATE rm.telemetry_hist_sum(bigint[]) (
      SFUNC = rm.telemetry_hist_add, STYPE = bigint[], PARALLEL = SAFE)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP AGGREGATE rm.telemetry_hist_sum(bigint[])`);
    await q.query(`DROP FUNCTION rm.telemetry_hist_add(bigint[], bigint[])`);
    await q.query(`DROP TABLE rm.telemetry_ingest_state`);
    await q.query(`DROP TABLE rm.telemetry_minute`);
  }
}
