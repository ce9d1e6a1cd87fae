import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeviceTimeline1700000000100 implements MigrationInterface {
  name = 'DeviceTimeline1700000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE rm.device_timeline (
      stream_id text NOT NULL,
      stream_position bigint NOT NULL,
      device_id text NOT NULL,
      log_position text NOT NULL,
      event_id text NOT NULL,
      event_type text NOT NULL,
      occurred_at timestamptz NOT NULL,
      data jsonb NOT NULL,
      PRIMARY KEY (stream_id, stream_position))`);
    await q.query(`CREATE INDEX device_timeline_device_idx ON rm.device_timeline (device_id, occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.device_timeline`);
  }
}
