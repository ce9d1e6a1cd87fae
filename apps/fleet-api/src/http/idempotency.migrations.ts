import type { Migration } from '@hyperfleet/event-store';

/**
 * Idempotency keys of the HTTP API, in their own migration set. One row per (credential, method, path,
 * key): the request's fingerprint, and once answered, the response to replay. Rows older than 24 h are
 * ignored and pruned, so the created_at index serves both.
 */
export const IDEMPOTENCY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'idempotency-keys',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;

CREATE TABLE hf.idempotency_keys (
  credential_id     text NOT NULL,
  method            text NOT NULL,
  path              text NOT NULL,
  key               text NOT NULL,
  fingerprint       text NOT NULL,
  status            text NOT NULL CHECK (status IN ('in-flight', 'completed')),
  -- Who holds an in-flight key: only that request may complete or release it.
  claim             uuid NOT NULL,
  response_status   integer,
  response_headers  jsonb,
  response_body     bytea,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  PRIMARY KEY (credential_id, method, path, key),
  CHECK (status = 'in-flight' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX idempotency_keys_created_at_idx ON hf.idempotency_keys (created_at);
`,
  },
];

export const IDEMPOTENCY_MIGRATION_SET = {
  name: 'http-idempotency',
  migrations: IDEMPOTENCY_MIGRATIONS,
} as const;
