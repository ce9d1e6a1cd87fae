import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The OTA-status read model. `ota_devices`, `ota_targets` and `ota_version_counts` belong to the
 * projection `ota-status` (rebuilt from the event store); `ota_update_progress` and
 * `ota_progress_seen` are filled from the telemetry channel by the progress runner, which the event
 * store cannot replay, so a rebuild leaves them alone. No foreign keys: rebuilds swap tables.
 */
export class OtaStatus1700000000310 implements MigrationInterface {
  name = 'OtaStatus1700000000310';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE rm.ota_devices (
      device_id text PRIMARY KEY,
      device_class text,
      site text,
      updated_at timestamptz NOT NULL)`);
    // One row per device and artefact; vm_name is '' for the artefacts that are not per VM.
    await q.query(`CREATE TABLE rm.ota_targets (
      device_id text NOT NULL,
      target_kind text NOT NULL,
      vm_name text NOT NULL DEFAULT '',
      reported_version text,
      reported_at timestamptz,
      desired_version text,
      desired_source text,
      desired_at timestamptz,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (device_id, target_kind, vm_name))`);
    await q.query(`CREATE INDEX ota_targets_reported_idx ON rm.ota_targets (target_kind, reported_version)`);
    await q.query(`CREATE INDEX ota_targets_desired_idx ON rm.ota_targets (target_kind, desired_version)`);
    // Devices per (artefact kind, version), kept by deltas in the projection's transaction.
    await q.query(`CREATE TABLE rm.ota_version_counts (
      target_kind text NOT NULL,
      version text NOT NULL,
      reported integer NOT NULL DEFAULT 0,
      desired integer NOT NULL DEFAULT 0,
      PRIMARY KEY (target_kind, version))`);
    // The latest update-progress record per device and artefact.
    await q.query(`CREATE TABLE rm.ota_update_progress (
      device_id text NOT NULL,
      target_kind text NOT NULL,
      vm_name text NOT NULL DEFAULT '',
      version text NOT NULL,
      from_version text,
      stage text NOT NULL,
      percent double precision,
      rollout_id text NOT NULL,
      desired_state_version integer,
      error_code text,
      error_message text,
      epoch bigint NOT NULL,
      seq bigint NOT NULL,
      record_id text NOT NULL,
      reported_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (device_id, target_kind, vm_name))`);
    await q.query(
      `CREATE INDEX ota_update_progress_version_idx ON rm.ota_update_progress (target_kind, version, stage)`,
    );
    // Dedupe of update-progress records by (device, epoch, seq), written in the same transaction.
    await q.query(`CREATE TABLE rm.ota_progress_seen (
      device_id text NOT NULL,
      epoch bigint NOT NULL,
      seq bigint NOT NULL,
      seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (device_id, epoch, seq))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.ota_progress_seen`);
    await q.query(`DROP TABLE rm.ota_update_progress`);
    await q.query(`DROP TABLE rm.ota_version_counts`);
    await q.query(`DROP TABLE rm.ota_targets`);
    await q.query(`DROP TABLE rm.ota_devices`);
  }
}
