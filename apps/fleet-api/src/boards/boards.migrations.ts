import type { Migration } from '@hyperfleet/event-store';

/**
 * Imported ACRN board XMLs, in their own migration set (`runMigrations(pool, BOARDS_MIGRATION_SET)`), run by
 * BoardStore at startup. A board is reference data an operator uploads, not a domain fact with rules of
 * its own, so it is a row (replaced on re-import, `revision` counts imports) rather than an event stream.
 */
export const BOARDS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'acrn-boards',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;

CREATE TABLE hf.acrn_boards (
  board_name   text PRIMARY KEY,
  -- The board as @hyperfleet/acrn parsed it (the model validatePartitionPlan takes).
  board        jsonb NOT NULL,
  -- sha256 of the uploaded XML text, hex: says which file this is without keeping it.
  xml_sha256   text NOT NULL CHECK (xml_sha256 ~ '^[0-9a-f]{64}$'),
  xml_bytes    integer NOT NULL,
  cpu_model    text,
  pcpu_count   integer NOT NULL,
  revision     integer NOT NULL DEFAULT 1 CHECK (revision > 0),
  imported_at  timestamptz NOT NULL DEFAULT now(),
  -- The actor of the import (subject, credential, request id), as in event metadata.
  imported_by  jsonb NOT NULL DEFAULT '{}'
);
`,
  },
];

export const BOARDS_MIGRATION_SET = { name: 'acrn-boards', migrations: BOARDS_MIGRATIONS } as const;
