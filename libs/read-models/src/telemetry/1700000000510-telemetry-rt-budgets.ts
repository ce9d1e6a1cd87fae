import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The companion projection's tables: RT VM latency budgets over time, and device class and site. */
export class TelemetryRtBudgets1700000000510 implements MigrationInterface {
  name = 'TelemetryRtBudgets1700000000510';

  async up(q: QueryRunner): Promise<void> {
    // One row per budget an RT VM had, from when it applied: a minute is judged by the budget then.
    await q.query(`CREATE TABLE rm.telemetry_rt_budgets (
      device_id text NOT NULL,
      vm_name text NOT NULL,
      valid_from timestamptz NOT NULL,
      budget_us double precision NOT NULL,
      PRIMARY KEY (device_id, vm_name, valid_from))`);
    await q.query(`CREATE TABLE rm.telemetry_device_labels (
      device_id text PRIMARY KEY,
      device_class text NOT NULL,
      site text NOT NULL)`);
    await q.query(`CREATE INDEX telemetry_device_labels_site_idx ON rm.telemetry_device_labels (site)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.telemetry_device_labels`);
    await q.query(`DROP TABLE rm.telemetry_rt_budgets`);
  }
}
