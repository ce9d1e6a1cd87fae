import type { Pool, PoolClient } from 'pg';
import type { Reply, SequenceState } from '@hyperfleet/contracts';

export interface DeviceSession {
  readonly state: SequenceState | null;
  readonly online: boolean;
}

/** One device's messages, one at a time: a transaction holding the session row lock. */
export interface SessionTransaction {
  readonly session: DeviceSession;
  /** The reply given to this message id before, if any. */
  readonly previousReply: Reply | null;
  /** Stores the message's verdict with the new sequence state; commits with the transaction. */
  record(input: {
    kind: string;
    epoch: number;
    seq: number;
    reply: Reply;
    state: SequenceState | null;
    online?: boolean;
  }): Promise<void>;
}

/**
 * The gateway's own state in PostgreSQL: per-device sequence state, the dedupe log of replies, and
 * connectivity. Row locks on hf.device_sessions serialise one device's messages across every
 * gateway instance, so the sequence rule is decided on the state the previous message left.
 * A message costs four round trips of its own: BEGIN, lock-and-read, record, COMMIT.
 */
export class SessionStore {
  constructor(private readonly pool: Pool) {}

  async close(): Promise<void> {
    await this.pool.end();
  }

  async withDevice<T>(
    deviceId: string,
    msgId: string,
    fn: (tx: SessionTransaction) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // The upsert takes the row lock whether the row is new or not, and the reply to this message
      // id (a redelivery) comes back in the same round trip.
      const { rows } = await client.query<{
        epoch: string;
        last_seq: string;
        registered: boolean;
        online: boolean;
        previous: Reply | null;
      }>(
        `WITH s AS (
           INSERT INTO hf.device_sessions AS d (device_id) VALUES ($1)
           ON CONFLICT (device_id) DO UPDATE SET device_id = d.device_id
           RETURNING epoch, last_seq, registered, online)
         SELECT s.*, (SELECT reply FROM hf.device_messages WHERE device_id = $1 AND msg_id = $2) AS previous FROM s`,
        [deviceId, msgId],
      );
      const row = rows[0];
      const session: DeviceSession = {
        state: row.registered ? { epoch: Number(row.epoch), lastSeq: Number(row.last_seq) } : null,
        online: row.online,
      };
      const result = await fn(this.transaction(client, deviceId, msgId, session, row.previous));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private transaction(
    client: PoolClient,
    deviceId: string,
    msgId: string,
    session: DeviceSession,
    previousReply: Reply | null,
  ): SessionTransaction {
    return {
      session,
      previousReply,
      async record(input) {
        await client.query(
          `WITH m AS (
             INSERT INTO hf.device_messages (device_id, msg_id, kind, epoch, seq, reply) VALUES ($1, $2, $3, $4, $5, $6))
           UPDATE hf.device_sessions SET
             epoch = COALESCE($7, epoch), last_seq = COALESCE($8, last_seq), registered = registered OR $7 IS NOT NULL,
             online = COALESCE($9, online), last_seen_at = now(), updated_at = now()
           WHERE device_id = $1`,
          [
            deviceId,
            msgId,
            input.kind,
            input.epoch,
            input.seq,
            JSON.stringify(input.reply),
            input.state?.epoch ?? null,
            input.state?.lastSeq ?? null,
            input.online ?? null,
          ],
        );
      },
    };
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
