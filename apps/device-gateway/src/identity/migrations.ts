import type { Migration } from '@hyperfleet/event-store';

/**
 * Device credentials, in their own migration set (`runMigrations(pool, IDENTITY_MIGRATION_SET)`).
 * One row per device: the current password hash in Mosquitto's `$7$` format, never the password.
 */
export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'device-credentials',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;

CREATE TABLE hf.device_credentials (
  device_id      text PRIMARY KEY,
  password_hash  text NOT NULL CHECK (password_hash LIKE '$7$%'),
  issued_at      timestamptz NOT NULL DEFAULT now(),
  rotated_at     timestamptz,
  revoked_at     timestamptz
);
`,
  },
];

export const IDENTITY_MIGRATION_SET = { name: 'identity', migrations: IDENTITY_MIGRATIONS } as const;
