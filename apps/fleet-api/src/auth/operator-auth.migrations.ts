import type { Migration } from '@hyperfleet/event-store';

/**
 * Operator API keys, in their own migration set. Only the sha256 of a key is kept. Scope columns are
 * null for "every site" / "every device class".
 */
export const OPERATOR_AUTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'api-keys',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;

CREATE TABLE hf.api_keys (
  key_id                text PRIMARY KEY,
  name                  text NOT NULL,
  role                  text NOT NULL CHECK (role IN ('viewer', 'operator', 'release-manager', 'admin')),
  scope_sites           text[],
  scope_device_classes  text[],
  secret_hash           text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  created_by            text NOT NULL,
  expires_at            timestamptz,
  revoked_at            timestamptz,
  revoked_by            text,
  last_used_at          timestamptz
);
CREATE INDEX api_keys_created_at_idx ON hf.api_keys (created_at);
`,
  },
];

export const OPERATOR_AUTH_MIGRATION_SET = {
  name: 'operator-auth',
  migrations: OPERATOR_AUTH_MIGRATIONS,
} as const;
