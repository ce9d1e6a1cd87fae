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
];

export const MESSAGING_MIGRATION_SET = { name: 'messaging', migrations: MESSAGING_MIGRATIONS };
