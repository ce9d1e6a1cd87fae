import type { Migration } from '@hyperfleet/event-store';

/**
 * Device commands and their status, shared by the API (records what operators asked for) and the
 * device gateway (sends, applies the agents' acks, sweeps deadlines). Both run this set at startup.
 */
export const DEVICE_COMMANDS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'commands',
    sql: `
CREATE TABLE hf.command_batches (
  batch_id    text PRIMARY KEY,
  action      text NOT NULL,
  args        jsonb NOT NULL DEFAULT '{}',
  filter      jsonb,
  actor       jsonb,
  total       integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hf.commands (
  command_id       text PRIMARY KEY,
  -- Insertion order: a device receives its queued commands in the order they were recorded.
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  batch_id         text,
  device_id        text NOT NULL,
  name             text NOT NULL,
  args             jsonb NOT NULL DEFAULT '{}',
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN
                     ('queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'rejected', 'timed-out', 'expired')),
  -- When the domain accepted the command; NULL = not decided yet (not sent before it is).
  decided_at       timestamptz,
  -- A bulk dispatcher's lease on an undecided row.
  claimed_until    timestamptz,
  reply_code       text,
  reply_message    text,
  reply_details    jsonb,
  -- The last answer that came after the command was final (recorded, changes nothing).
  late_ack         jsonb,
  actor            jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  deliver_by       timestamptz NOT NULL,
  sent_at          timestamptz,
  acknowledged_at  timestamptz,
  completed_at     timestamptz,
  expires_at       timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commands_device_idx ON hf.commands (device_id, created_at DESC, command_id DESC);
CREATE INDEX commands_batch_idx ON hf.commands (batch_id, created_at DESC, command_id DESC) WHERE batch_id IS NOT NULL;
CREATE INDEX commands_created_idx ON hf.commands (created_at DESC, command_id DESC);
-- The sweeper's two questions: queued past deliver_by, in flight past expires_at.
CREATE INDEX commands_queued_deadline_idx ON hf.commands (deliver_by) WHERE status = 'queued';
CREATE INDEX commands_inflight_deadline_idx ON hf.commands (expires_at) WHERE status IN ('sent', 'acknowledged');
-- What a device gets on its birth comes from commands_device_idx: a device has few commands. Each
-- index here is paid by every row a 10,000-device bulk command inserts.
-- The bulk dispatcher's work list.
CREATE INDEX commands_undecided_idx ON hf.commands (seq) WHERE status = 'queued' AND decided_at IS NULL;
`,
  },
];

export const DEVICE_COMMANDS_MIGRATION_SET = {
  name: 'device-commands',
  migrations: DEVICE_COMMANDS_MIGRATIONS,
};
