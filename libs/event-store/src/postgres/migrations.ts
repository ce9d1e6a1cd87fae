/**
 * The event store's schema, versioned. A migration never changes once released: add a new one.
 * Everything lives in the `hf` schema so the read models (TypeORM, `public`) stay separate.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const EVENT_STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'event-store',
    sql: `
CREATE SCHEMA IF NOT EXISTS hf;

CREATE TABLE hf.streams (
  stream_id   text PRIMARY KEY,
  version     bigint NOT NULL CHECK (version > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- transaction_id orders the global log: a reader takes only transactions older than the oldest
-- one still running, so an event that commits late is never skipped (see docs/event-store.md).
CREATE TABLE hf.events (
  global_position  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id   xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id        text NOT NULL,
  stream_position  bigint NOT NULL,
  event_type       text NOT NULL,
  schema_version   integer NOT NULL DEFAULT 1,
  data             jsonb NOT NULL,
  metadata         jsonb NOT NULL DEFAULT '{}',
  message_id       text NOT NULL,
  causation_id     text,
  correlation_id   text,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_position_uq UNIQUE (stream_id, stream_position),
  CONSTRAINT events_message_id_uq UNIQUE (message_id)
);
CREATE INDEX events_log_idx ON hf.events (transaction_id, global_position);

CREATE TABLE hf.checkpoints (
  subscription_id  text PRIMARY KEY,
  transaction_id   bigint NOT NULL,
  global_position  bigint NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hf.snapshots (
  stream_id       text PRIMARY KEY,
  version         bigint NOT NULL,
  snapshot_type   text NOT NULL,
  schema_version  integer NOT NULL DEFAULT 1,
  state           jsonb NOT NULL,
  taken_at        timestamptz NOT NULL DEFAULT now()
);

-- One round trip per append. p_expected: -1 no-stream, -2 any, n > 0 exact version.
-- Duplicate message ids surface as unique_violation on events_message_id_uq; the caller then
-- looks up the original positions (the rare path stays out of the hot one).
CREATE FUNCTION hf.append_events(p_stream_id text, p_expected bigint, p_events jsonb, p_notify boolean)
RETURNS TABLE (ok boolean, stream_version bigint, tx_id xid8, global_positions bigint[])
LANGUAGE plpgsql AS $fn$
DECLARE
  n bigint := jsonb_array_length(p_events);
  v_version bigint;
  v_positions bigint[];
BEGIN
  IF p_expected = -2 THEN
    INSERT INTO hf.streams AS s (stream_id, version) VALUES (p_stream_id, n)
      ON CONFLICT (stream_id) DO UPDATE SET version = s.version + n, updated_at = now()
      RETURNING s.version INTO v_version;
  ELSIF p_expected = -1 OR p_expected = 0 THEN
    INSERT INTO hf.streams (stream_id, version) VALUES (p_stream_id, n)
      ON CONFLICT (stream_id) DO NOTHING
      RETURNING version INTO v_version;
  ELSE
    UPDATE hf.streams SET version = version + n, updated_at = now()
      WHERE stream_id = p_stream_id AND version = p_expected
      RETURNING version INTO v_version;
  END IF;

  IF v_version IS NULL THEN
    RETURN QUERY SELECT false, (SELECT s.version FROM hf.streams s WHERE s.stream_id = p_stream_id), NULL::xid8, NULL::bigint[];
    RETURN;
  END IF;

  WITH inserted AS (
    INSERT INTO hf.events (stream_id, stream_position, event_type, schema_version, data, metadata,
                           message_id, causation_id, correlation_id)
    SELECT p_stream_id, v_version - n + e.ord, e.value->>'type', COALESCE((e.value->>'schemaVersion')::int, 1),
           e.value->'data', COALESCE(e.value->'metadata', '{}'::jsonb), e.value->>'messageId',
           e.value->>'causationId', e.value->>'correlationId'
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(value, ord)
     ORDER BY e.ord
    RETURNING global_position, stream_position
  )
  SELECT array_agg(global_position ORDER BY stream_position) INTO v_positions FROM inserted;

  IF p_notify THEN
    PERFORM pg_notify('hf_events', '');
  END IF;

  RETURN QUERY SELECT true, v_version, pg_current_xact_id(), v_positions;
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'append-events-batch',
    sql: `
-- Several appends, to different streams or not, in one round trip and one commit. Each entry is
-- decided on its own exactly as hf.append_events decides it (version first, then duplicate message
-- ids), and a refused entry leaves the others alone. Streams are locked in stream id order, so two
-- batches cannot deadlock on each other.
CREATE FUNCTION hf.append_events_batch(p_batch jsonb, p_notify boolean)
RETURNS TABLE (idx integer, ok boolean, duplicate boolean, stream_version bigint, tx_id xid8,
               global_positions bigint[])
LANGUAGE plpgsql
-- Every lookup here is by a unique key. The function's plans are cached per session, and one made
-- while the tables were small could scan them long after they grew (measured: 5x the CPU per append).
SET enable_seqscan = off
AS $fn$
DECLARE
  a record;
  n bigint;
  v_current bigint;
  v_version bigint;
  v_positions bigint[];
  v_ids text[];
  v_any boolean := false;
BEGIN
  FOR a IN
    SELECT (e.ord - 1)::integer AS i, e.value->>'streamId' AS sid, (e.value->>'expected')::bigint AS expected,
           e.value->'events' AS events
      FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS e(value, ord)
     ORDER BY e.value->>'streamId' COLLATE "C", e.ord
  LOOP
    n := jsonb_array_length(a.events);
    SELECT s.version INTO v_current FROM hf.streams s WHERE s.stream_id = a.sid FOR UPDATE;
    IF (a.expected = -1 OR a.expected = 0) AND v_current IS NOT NULL
       OR a.expected > 0 AND v_current IS DISTINCT FROM a.expected THEN
      RETURN QUERY SELECT a.i, false, false, v_current, NULL::xid8, NULL::bigint[];
      CONTINUE;
    END IF;
    SELECT array_agg(x->>'messageId') INTO v_ids FROM jsonb_array_elements(a.events) AS x;
    IF EXISTS (SELECT 1 FROM hf.events ev WHERE ev.message_id = ANY (v_ids)) THEN
      RETURN QUERY SELECT a.i, false, true, v_current, NULL::xid8, NULL::bigint[];
      CONTINUE;
    END IF;
    v_version := NULL;
    IF v_current IS NULL THEN
      INSERT INTO hf.streams (stream_id, version) VALUES (a.sid, n)
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING version INTO v_version;
      -- Created meanwhile by another transaction, now committed.
      IF v_version IS NULL AND a.expected = -2 THEN
        UPDATE hf.streams SET version = version + n, updated_at = now()
          WHERE stream_id = a.sid RETURNING version INTO v_version;
      END IF;
      IF v_version IS NULL THEN
        RETURN QUERY SELECT a.i, false, false, (SELECT s.version FROM hf.streams s WHERE s.stream_id = a.sid),
                            NULL::xid8, NULL::bigint[];
        CONTINUE;
      END IF;
    ELSE
      UPDATE hf.streams SET version = version + n, updated_at = now()
        WHERE stream_id = a.sid RETURNING version INTO v_version;
    END IF;

    WITH inserted AS (
      INSERT INTO hf.events (stream_id, stream_position, event_type, schema_version, data, metadata,
                             message_id, causation_id, correlation_id)
      SELECT a.sid, v_version - n + e.ord, e.value->>'type', COALESCE((e.value->>'schemaVersion')::int, 1),
             e.value->'data', COALESCE(e.value->'metadata', '{}'::jsonb), e.value->>'messageId',
             e.value->>'causationId', e.value->>'correlationId'
        FROM jsonb_array_elements(a.events) WITH ORDINALITY AS e(value, ord)
       ORDER BY e.ord
      RETURNING global_position, stream_position
    )
    SELECT array_agg(global_position ORDER BY stream_position) INTO v_positions FROM inserted;
    v_any := true;
    RETURN QUERY SELECT a.i, true, false, v_version, pg_current_xact_id(), v_positions;
  END LOOP;

  IF p_notify AND v_any THEN
    PERFORM pg_notify('hf_events', '');
  END IF;
END
$fn$;
`,
  },
];
