import type { Migration } from '@hyperfleet/event-store';

export const GATEWAY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'device-sessions',
    sql: `
-- Per device: the epoch/sequence state of docs/protocol.md and connectivity as the gateway sees it.
CREATE TABLE hf.device_sessions (
  device_id     text PRIMARY KEY,
  epoch         bigint NOT NULL DEFAULT 0,
  last_seq      bigint NOT NULL DEFAULT 0,
  registered    boolean NOT NULL DEFAULT false,
  online        boolean NOT NULL DEFAULT false,
  last_seen_at  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_sessions_online_idx ON hf.device_sessions (last_seen_at) WHERE online;

-- Durable dedupe: the reply given to every message id that reached the sequence rule.
CREATE TABLE hf.device_messages (
  device_id    text NOT NULL,
  msg_id       text NOT NULL,
  kind         text NOT NULL,
  epoch        bigint NOT NULL,
  seq          bigint NOT NULL,
  reply        jsonb NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, msg_id)
);
CREATE INDEX device_messages_age_idx ON hf.device_messages (received_at);

-- Commands sent to agents (cmd/<name>) and what became of them.
CREATE TABLE hf.device_commands (
  command_id   text PRIMARY KEY,
  device_id    text NOT NULL,
  name         text NOT NULL,
  args         jsonb NOT NULL,
  issued_at    timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  status       text NOT NULL CHECK (status IN ('issued', 'accepted', 'done', 'failed', 'expired')),
  error        jsonb,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_commands_open_idx ON hf.device_commands (expires_at) WHERE status IN ('issued', 'accepted');
CREATE INDEX device_commands_device_idx ON hf.device_commands (device_id, issued_at DESC);

-- The desired-state document per device, as last published (retained) to hf/v1/<id>/desired.
CREATE TABLE hf.device_desired (
  device_id        text PRIMARY KEY,
  version          bigint NOT NULL,
  document         jsonb NOT NULL,
  -- Log position of the last event applied: a redelivered event is not applied twice.
  source_position  text NOT NULL,
  published_at     timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: 'lighter-rows-per-message',
    sql: `
-- Every message updates its device's session row (the sequence moves): with room on the page and no
-- indexed column changed (last_seen_at is written every few seconds only, see DeviceIngress), the
-- update is HOT and touches no index.
ALTER TABLE hf.device_sessions SET (fillfactor = 50);
-- Most replies are a plain acceptance, which the row's msg_id and kind rebuild: NULL stores it.
ALTER TABLE hf.device_messages ALTER COLUMN reply DROP NOT NULL;
-- Rows arrive in received_at order: BRIN finds the expired ones for pruning without a b-tree entry
-- per message.
DROP INDEX hf.device_messages_age_idx;
CREATE INDEX device_messages_age_idx ON hf.device_messages USING brin (received_at);
`,
  },
  {
    version: 3,
    name: 'drop-device-commands',
    sql: `
-- Device commands moved to hf.commands (@hyperfleet/device-commands, shared with the API).
DROP TABLE IF EXISTS hf.device_commands;
`,
  },
];

export const GATEWAY_MIGRATION_SET = { name: 'gateway', migrations: GATEWAY_MIGRATIONS };
