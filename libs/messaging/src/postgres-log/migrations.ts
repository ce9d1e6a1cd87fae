import type { Migration } from '@hyperfleet/event-store';

/** Tables of the PostgreSQL-log transport (its own migration set, next to the event store's). */
export const MESSAGING_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'telemetry-log',
    sql: `
-- The telemetry channel when there is no Kafka: an append-only log read like the event log,
-- in (transaction_id, position) order below the oldest running transaction. Pruned by age.
CREATE TABLE hf.telemetry_log (
  position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  key             text NOT NULL,
  event           jsonb NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telemetry_log_order_idx ON hf.telemetry_log (transaction_id, position);
CREATE INDEX telemetry_log_age_idx ON hf.telemetry_log (recorded_at);
`,
  },
  {
    version: 2,
    name: 'telemetry-log-lz4',
    sql: `
-- A telemetry record (20 samples) is ~2.6 kB, over the TOAST threshold: pglz compressed every one of
-- them, a third of the insert's cost (measured: 50 us vs 34 us per record). lz4 compresses as small
-- at no measurable cost. A server built without lz4 (the embedded one) keeps pglz.
DO $do$
BEGIN
  ALTER TABLE hf.telemetry_log ALTER COLUMN event SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this server has no lz4: telemetry stays compressed with pglz';
END
$do$;
`,
  },
  {
    version: 3,
    name: 'telemetry-log-json',
    sql: `
-- Measured per telemetry record on the ingest path (docs/benchmarks.md): building jsonb from the
-- gateway's JSON was most of PostgreSQL's share of a telemetry message, for a column nobody queries
-- inside (consumers read the record whole). json keeps the text as sent, checked to be JSON.
ALTER TABLE hf.telemetry_log ALTER COLUMN event TYPE json USING event::json;
-- Order is (transaction_id, position), its own index; a second b-tree on position alone was a third
-- index entry per record that no query used.
ALTER TABLE hf.telemetry_log DROP CONSTRAINT telemetry_log_pkey;
-- Records arrive in recorded_at order: a BRIN index finds the expired ones for the pruning DELETE
-- at a fraction of a b-tree's upkeep.
DROP INDEX hf.telemetry_log_age_idx;
CREATE INDEX telemetry_log_age_idx ON hf.telemetry_log USING brin (recorded_at);
DO $do$
BEGIN
  ALTER TABLE hf.telemetry_log ALTER COLUMN event SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  NULL;
END
$do$;
`,
  },
];

export const MESSAGING_MIGRATION_SET = { name: 'messaging', migrations: MESSAGING_MIGRATIONS };
