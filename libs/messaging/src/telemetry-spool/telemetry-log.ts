import type { Pool, PoolClient } from 'pg';
import { parseCloudEvent } from '../transport/cloud-event';
import type { CloudEvent, TransportRecord } from '../transport/event-transport';
import type { LogBatch, LogPosition } from '@hyperfleet/event-store';

/**
 * hf.telemetry_log: where every accepted telemetry record is committed, in the gateway batch's own
 * transaction, whatever the transport. On the PostgreSQL log it is the telemetry channel itself; on
 * Kafka it is the spool the telemetry relay publishes from (so ingest never waits for the broker).
 * Read in (transaction_id, position) order below the oldest running transaction, like the event log.
 */

/**
 * One text of the events' JSON joined by RS (U+001E), which JSON.stringify never leaves unescaped:
 * cheaper on both ends than a text[] (whose quoting pg escapes character by character) or a jsonb
 * array (which PostgreSQL builds and takes apart again). WITH ORDINALITY keeps the records' order.
 */
const TELEMETRY_INSERT = `INSERT INTO hf.telemetry_log (key, event)
  SELECT k, e::json FROM unnest($1::text[], string_to_array($2, chr(30))) WITH ORDINALITY AS t(k, e, ord) ORDER BY ord`;

type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

/** Writes telemetry records through the caller's connection, so inside its transaction. */
export async function writeTelemetryLog(
  client: Queryable,
  records: readonly TransportRecord[],
): Promise<void> {
  if (records.length === 0) return;
  // No NOTIFY: readers poll, and a NOTIFY would serialise every committing insert.
  await client.query(TELEMETRY_INSERT, [
    records.map((r) => r.key),
    records.map((r) => r.json ?? JSON.stringify(r.event)).join('\u001e'),
  ]);
}

export interface TelemetryLogRecord extends TransportRecord {
  readonly json: string;
  readonly at: LogPosition;
}

/**
 * The records after `after`, in log order. Each keeps the JSON text as written (a relay forwards it
 * as is); `event` is parsed only if someone asks for it.
 */
export async function readTelemetryLog(
  pool: Queryable,
  after: LogPosition,
  batchSize: number,
): Promise<LogBatch<TelemetryLogRecord>> {
  const { rows } = await pool.query<{ tx_id: string; position: string; key: string; json: string }>(
    `SELECT transaction_id::text AS tx_id, position, key, event::text AS json FROM hf.telemetry_log
      WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, position
      LIMIT $3`,
    [after.transactionId.toString(), after.globalPosition.toString(), batchSize],
  );
  const events = rows.map((r) => lazyRecord(r.key, r.json, BigInt(r.tx_id), BigInt(r.position)));
  const last = events[events.length - 1];
  return { events, position: last ? last.at : after, maybeMore: events.length === batchSize };
}

function lazyRecord(
  key: string,
  json: string,
  transactionId: bigint,
  globalPosition: bigint,
): TelemetryLogRecord {
  let parsed: CloudEvent | null = null;
  return {
    key,
    json,
    at: { transactionId, globalPosition },
    get event(): CloudEvent {
      parsed ??= parseCloudEvent(JSON.parse(json));
      return parsed;
    },
  };
}

/** The last record committed to the log, in log order, visible or not yet to readers. */
export async function lastTelemetryPosition(pool: Queryable): Promise<LogPosition | null> {
  const { rows } = await pool.query<{ tx_id: string; position: string }>(
    `SELECT transaction_id::text AS tx_id, position FROM hf.telemetry_log ORDER BY transaction_id DESC, position DESC LIMIT 1`,
  );
  return rows.length
    ? { transactionId: BigInt(rows[0].tx_id), globalPosition: BigInt(rows[0].position) }
    : null;
}
