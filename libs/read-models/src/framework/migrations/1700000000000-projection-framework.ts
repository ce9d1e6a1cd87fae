import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The projection machinery's own tables: per-stream dedupe, progress, and parked (poison) events. */
export class ProjectionFramework1700000000000 implements MigrationInterface {
  name = 'ProjectionFramework1700000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS rm`);
    // The last stream position applied, per projection and stream: redelivered events are skipped in
    // the same transaction as the writes, so a crash or a rebuild never applies an event twice.
    await q.query(`CREATE TABLE rm.projection_positions (
      projection text NOT NULL,
      stream_id text NOT NULL,
      position bigint NOT NULL,
      PRIMARY KEY (projection, stream_id))`);
    await q.query(`CREATE TABLE rm.projection_status (
      projection text PRIMARY KEY,
      events_applied bigint NOT NULL DEFAULT 0,
      last_log_position text,
      last_event_at timestamptz,
      rebuilt_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE rm.dead_letters (
      id bigserial PRIMARY KEY,
      projection text NOT NULL,
      event_id text NOT NULL,
      stream_id text NOT NULL,
      stream_position bigint NOT NULL,
      event_type text NOT NULL,
      event jsonb NOT NULL,
      error text NOT NULL,
      attempts integer NOT NULL,
      parked_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (projection, event_id))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm.dead_letters`);
    await q.query(`DROP TABLE rm.projection_status`);
    await q.query(`DROP TABLE rm.projection_positions`);
  }
}
