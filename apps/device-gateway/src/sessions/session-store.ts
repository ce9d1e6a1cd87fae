import type { Pool, PoolClient } from 'pg';
import { isPlainAcceptance, Reply, type SequenceState } from '@hyperfleet/contracts';
import type { TransportRecord } from '@hyperfleet/messaging';

export interface DeviceSession {
  readonly state: SequenceState | null;
  readonly online: boolean;
}

/** One device's messages, one at a time: a transaction holding the session row lock. */
export interface BatchVerdict {
  readonly deviceId: string;
  readonly msgId: string;
  readonly kind: string;
  readonly epoch: number;
  readonly seq: number;
  readonly reply: Reply;
}

/** A device's session after the batch: its new sequence state (null: unchanged) and connectivity. */
export interface BatchFinalState {
  readonly deviceId: string;
  readonly state: SequenceState | null;
  readonly online?: boolean;
  /** Whether to set last_seen_at to now (an indexed column: written only when due, see DeviceIngress). */
  readonly touch: boolean;
}

export interface BatchTransaction {
  session(deviceId: string): DeviceSession;
  previousReply(deviceId: string, msgId: string): Reply | null;
  record(verdicts: readonly BatchVerdict[], finals: readonly BatchFinalState[]): Promise<void>;
  /** Writes telemetry records in this transaction; absent when the telemetry channel is elsewhere (Kafka). */
  readonly publishTelemetry?: (records: readonly TransportRecord[]) => Promise<void>;
}

/** Writes telemetry records through a connection of this database (the PostgreSQL-log transport's). */
export type TelemetryWriter = (client: PoolClient, records: readonly TransportRecord[]) => Promise<void>;

/**
 * The gateway's own state in PostgreSQL: per-device sequence state, the dedupe log of replies, and
 * connectivity. Row locks on hf.device_sessions serialise one device's messages across every
 * gateway instance, so the sequence rule is decided on the state the previous message left.
 * A batch of messages costs five statements of its own, whatever its size: BEGIN, lock-and-read,
 * the earlier replies, record, COMMIT.
 */
export class SessionStore {
  constructor(
    private readonly pool: Pool,
    private readonly telemetryWriter?: TelemetryWriter,
  ) {}

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Several devices' messages in one transaction: their session rows locked in id order (so two
   * batches never deadlock), the replies to these message ids read, and `record` writing every
   * verdict and final session state in one statement.
   */
  async withDevices<T>(
    messages: readonly { deviceId: string; msgId: string }[],
    fn: (tx: BatchTransaction) => Promise<T>,
  ): Promise<T> {
    const devices = [...new Set(messages.map((m) => m.deviceId))].sort();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{
        device_id: string;
        epoch: string;
        last_seq: string;
        registered: boolean;
        online: boolean;
      }>(
        `INSERT INTO hf.device_sessions AS d (device_id) SELECT unnest($1::text[]) ORDER BY 1
         ON CONFLICT (device_id) DO UPDATE SET device_id = d.device_id
         RETURNING device_id, epoch, last_seq, registered, online`,
        [devices],
      );
      const sessions = new Map<string, DeviceSession>(
        rows.map((r) => [
          r.device_id,
          {
            state: r.registered ? { epoch: Number(r.epoch), lastSeq: Number(r.last_seq) } : null,
            online: r.online,
          },
        ]),
      );
      // A statement of its own, after the locks: a snapshot taken before waiting on another instance's
      // lock would miss the reply that instance just committed for a redelivered message.
      const { rows: prev } = await client.query<{
        device_id: string;
        msg_id: string;
        kind: string;
        reply: Reply | null;
      }>(
        `SELECT m.device_id, m.msg_id, m.kind, m.reply FROM hf.device_messages m
           JOIN unnest($1::text[], $2::text[]) AS x(device_id, msg_id) USING (device_id, msg_id)`,
        [messages.map((m) => m.deviceId), messages.map((m) => m.msgId)],
      );
      const previous = new Map(
        prev.map((r) => [
          `${r.device_id}\u0000${r.msg_id}`,
          r.reply ?? Reply.accepted(r.msg_id, { kind: r.kind }),
        ]),
      );
      const result = await fn({
        session: (deviceId) => sessions.get(deviceId) ?? { state: null, online: false },
        previousReply: (deviceId, msgId) => previous.get(`${deviceId}\u0000${msgId}`) ?? null,
        record: (verdicts, finals) => recordBatch(client, verdicts, finals),
        ...(this.telemetryWriter
          ? { publishTelemetry: (records) => this.telemetryWriter!(client, records) }
          : {}),
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Which of these devices the gateway sees connected. */
  async onlineAmong(deviceIds: readonly string[]): Promise<Set<string>> {
    if (!deviceIds.length) return new Set();
    const { rows } = await this.pool.query<{ device_id: string }>(
      `SELECT device_id FROM hf.device_sessions WHERE device_id = ANY($1::text[]) AND online`,
      [[...new Set(deviceIds)]],
    );
    return new Set(rows.map((r) => r.device_id));
  }

  /** Online devices not heard from since `before`: their agent died without its will reaching us. */
  async silentDevices(
    before: Date,
    limit = 500,
  ): Promise<{ deviceId: string; epoch: number; lastSeenAt: Date }[]> {
    const { rows } = await this.pool.query<{ device_id: string; epoch: string; last_seen_at: Date }>(
      `SELECT device_id, epoch, last_seen_at FROM hf.device_sessions
        WHERE online AND last_seen_at < $1 ORDER BY last_seen_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((r) => ({ deviceId: r.device_id, epoch: Number(r.epoch), lastSeenAt: r.last_seen_at }));
  }

  /** Marks a device offline only if it is still in that epoch and still silent (a birth may have raced). */
  async markSilentOffline(deviceId: string, epoch: number, before: Date): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE hf.device_sessions SET online = false, updated_at = now()
        WHERE device_id = $1 AND epoch = $2 AND online AND last_seen_at < $3`,
      [deviceId, epoch, before],
    );
    return res.rowCount === 1;
  }

  async pruneReplies(olderThanMs: number): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM hf.device_messages WHERE received_at < now() - ($1::bigint * interval '1 millisecond')`,
      [olderThanMs],
    );
    return res.rowCount ?? 0;
  }
}

async function recordBatch(
  client: PoolClient,
  verdicts: readonly BatchVerdict[],
  finals: readonly BatchFinalState[],
): Promise<void> {
  await client.query(
    `WITH m AS (
       INSERT INTO hf.device_messages (device_id, msg_id, kind, epoch, seq, reply)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::jsonb[])),
     u AS (
       SELECT * FROM unnest($7::text[], $8::bigint[], $9::bigint[], $10::boolean[], $11::boolean[])
         AS x(device_id, epoch, last_seq, online, touch))
     UPDATE hf.device_sessions d SET
       epoch = COALESCE(u.epoch, d.epoch), last_seq = COALESCE(u.last_seq, d.last_seq),
       registered = d.registered OR u.epoch IS NOT NULL, online = COALESCE(u.online, d.online),
       last_seen_at = CASE WHEN u.touch THEN now() ELSE d.last_seen_at END, updated_at = now()
     FROM u WHERE d.device_id = u.device_id`,
    [
      verdicts.map((v) => v.deviceId),
      verdicts.map((v) => v.msgId),
      verdicts.map((v) => v.kind),
      verdicts.map((v) => v.epoch),
      verdicts.map((v) => v.seq),
      verdicts.map((v) => (isOwnPlainAcceptance(v) ? null : JSON.stringify(v.reply))),
      finals.map((f) => f.deviceId),
      finals.map((f) => f.state?.epoch ?? null),
      finals.map((f) => f.state?.lastSeq ?? null),
      finals.map((f) => f.online ?? null),
      finals.map((f) => f.touch),
    ],
  );
}

/** `Reply.accepted(msgId, { kind })` of this very message: what a NULL reply column stands for. */
function isOwnPlainAcceptance(v: BatchVerdict): boolean {
  return isPlainAcceptance(v.reply) && v.reply.inReplyTo === v.msgId && v.reply.kind === v.kind;
}
