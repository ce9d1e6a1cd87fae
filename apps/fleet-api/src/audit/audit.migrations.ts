import type { Migration } from '@hyperfleet/event-store';

/**
 * Indexes for GET /api/v1/audit, which reads hf.events itself (the event store is the source of truth:
 * no copy to drift from it). Every index is partial on `metadata ? 'actor'`: only events an operator
 * (or an API-side system actor) caused get entries, so the device ingest path, whose events carry no
 * actor, pays only the predicate check per row. Each filter's index ends in global_position, so a
 * filtered page is an index range read newest-first.
 */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit-indexes',
    sql: `
CREATE INDEX audit_events_position_idx ON hf.events (global_position) WHERE metadata ? 'actor';
CREATE INDEX audit_events_subject_idx ON hf.events ((metadata->'actor'->>'subject'), global_position)
  WHERE metadata ? 'actor';
CREATE INDEX audit_events_credential_idx ON hf.events ((metadata->'actor'->>'credentialId'), global_position)
  WHERE metadata ? 'actor';
CREATE INDEX audit_events_device_idx ON hf.events ((metadata->>'deviceId'), global_position)
  WHERE metadata ? 'actor';
CREATE INDEX audit_events_type_idx ON hf.events (event_type, global_position) WHERE metadata ? 'actor';
CREATE INDEX audit_events_command_idx ON hf.events ((metadata->>'command'), global_position)
  WHERE metadata ? 'actor';
CREATE INDEX audit_events_recorded_at_idx ON hf.events (recorded_at) WHERE metadata ? 'actor';
`,
  },
];

export const AUDIT_MIGRATION_SET = { name: 'audit', migrations: AUDIT_MIGRATIONS } as const;
