import type { Pool } from 'pg';
import { DEFAULT_COMMAND_TIMEOUT_MS, type CommandName } from '@hyperfleet/contracts';
import {
  COMMAND_STATUSES,
  FINAL_COMMAND_STATUSES,
  onAck,
  type AckOutcome,
  type CommandStatus,
} from './status';

/** A command to record as queued. */
export interface NewDeviceCommand {
  readonly commandId: string;
  readonly deviceId: string;
  /** The wire name (cmd/<name>). */
  readonly name: CommandName;
  readonly args: Record<string, unknown>;
  /** Queue deadline: not sent after this instant, expired instead. */
  readonly deliverBy: Date;
  readonly batchId?: string | null;
  readonly actor?: unknown;
  /** Set when the domain already accepted it (the gateway recording a command from its event). */
  readonly decidedAt?: Date | null;
  readonly createdAt?: Date;
}

export interface NewCommandBatch {
  readonly batchId: string;
  readonly action: string;
  readonly args?: Record<string, unknown>;
  readonly filter?: unknown;
  readonly actor?: unknown;
  /** Defaults to the number of commands recorded with it. */
  readonly total?: number;
}

export interface CommandReply {
  readonly code: string;
  readonly message: string;
  readonly details: unknown;
}

export interface DeviceCommandView {
  readonly commandId: string;
  readonly batchId: string | null;
  readonly deviceId: string;
  readonly name: CommandName;
  readonly args: Record<string, unknown>;
  readonly status: CommandStatus;
  /** The device's answer (its error code) or the backend's refusal; null while there is none. */
  readonly reply: CommandReply | null;
  readonly actor: unknown;
  readonly createdAt: string;
  /** When the domain accepted it; null = not decided yet. */
  readonly decidedAt: string | null;
  readonly deliverBy: string;
  readonly sentAt: string | null;
  readonly acknowledgedAt: string | null;
  readonly completedAt: string | null;
  /** Execution deadline (sentAt + the command's timeout); null until sent. */
  readonly expiresAt: string | null;
  /** An answer that came after the command was final: recorded, changed nothing. */
  readonly lateAck: {
    outcome: AckOutcome;
    error: { code: string; message: string } | null;
    at: string;
  } | null;
}

export interface CommandBatchView {
  readonly batchId: string;
  readonly action: string;
  readonly args: Record<string, unknown>;
  readonly filter: unknown;
  readonly actor: unknown;
  readonly total: number;
  readonly createdAt: string;
}

/** An agent's cmd-ack (CmdAckPayload fits). */
export interface CommandAck {
  readonly commandId: string;
  readonly outcome: AckOutcome;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * applied: the status moved; unknown-command: the backend never sent this id to this device;
 * late: the command is already final (answer recorded, no change); ignored: a repeat that changes nothing.
 */
export type AckResult = 'applied' | 'unknown-command' | 'late' | 'ignored';

export interface CommandListQuery {
  readonly deviceId?: string;
  readonly batchId?: string;
  readonly status?: CommandStatus | readonly CommandStatus[];
  /** 1–1000, default 100. */
  readonly limit?: number;
  /** nextCursor of the previous page. */
  readonly cursor?: string | null;
}

export interface CommandPage {
  readonly items: DeviceCommandView[];
  readonly nextCursor: string | null;
}

export type StatusCounts = Record<CommandStatus, number>;

export class DeviceCommandStoreError extends Error {
  constructor(
    readonly code: 'INVALID_CURSOR',
    message: string,
  ) {
    super(message);
  }
}

interface Row {
  command_id: string;
  batch_id: string | null;
  device_id: string;
  name: CommandName;
  args: Record<string, unknown>;
  status: CommandStatus;
  decided_at: Date | null;
  reply_code: string | null;
  reply_message: string | null;
  reply_details: unknown;
  late_ack: DeviceCommandView['lateAck'];
  actor: unknown;
  created_at: Date;
  created_key: string;
  deliver_by: Date;
  sent_at: Date | null;
  acknowledged_at: Date | null;
  completed_at: Date | null;
  expires_at: Date | null;
}

const COLUMNS = `command_id, batch_id, device_id, name, args, status, decided_at, reply_code, reply_message,
  reply_details, late_ack, actor, created_at, deliver_by, sent_at, acknowledged_at, completed_at, expires_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(r: Row): DeviceCommandView {
  return {
    commandId: r.command_id,
    batchId: r.batch_id,
    deviceId: r.device_id,
    name: r.name,
    args: r.args,
    status: r.status,
    reply:
      r.reply_code === null
        ? null
        : { code: r.reply_code, message: r.reply_message ?? '', details: r.reply_details ?? null },
    actor: r.actor,
    createdAt: r.created_at.toISOString(),
    decidedAt: iso(r.decided_at),
    deliverBy: r.deliver_by.toISOString(),
    sentAt: iso(r.sent_at),
    acknowledgedAt: iso(r.acknowledged_at),
    completedAt: iso(r.completed_at),
    expiresAt: iso(r.expires_at),
    lateAck: r.late_ack,
  };
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * hf.commands: every device command from the moment it is recorded (by the API, or by the gateway
 * for a domain event nobody recorded) until the device's final answer or a deadline. Every change is
 * a conditional UPDATE from the status it was decided on, so concurrent writers (two gateways, the
 * API, the sweeper) cannot move a command twice or back.
 */
export class DeviceCommandStore {
  constructor(private readonly pool: Pool) {}

  /** Records one queued command; false if its id exists already (nothing changes then). */
  async record(c: NewDeviceCommand): Promise<boolean> {
    return (await this.recordMany([c])) === 1;
  }

  /**
   * Records queued commands in one statement (their order is the order devices receive them), and
   * their batch first when given. Existing ids are left alone. Returns how many were new.
   */
  async recordMany(cs: readonly NewDeviceCommand[], batch?: NewCommandBatch): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (batch) {
        await client.query(
          `INSERT INTO hf.command_batches (batch_id, action, args, filter, actor, total)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_id) DO NOTHING`,
          [
            batch.batchId,
            batch.action,
            JSON.stringify(batch.args ?? {}),
            json(batch.filter),
            json(batch.actor),
            batch.total ?? cs.length,
          ],
        );
      }
      let n = 0;
      if (cs.length) {
        const res = await client.query(
          `INSERT INTO hf.commands (command_id, batch_id, device_id, name, args, actor, deliver_by, decided_at, created_at)
           SELECT u.id, u.batch, u.device, u.name, u.args::jsonb, u.actor::jsonb, u.deliver_by, u.decided_at,
                  coalesce(u.created_at, now())
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
                  WITH ORDINALITY AS u(id, batch, device, name, args, actor, deliver_by, decided_at, created_at, ord)
            ORDER BY u.ord
           ON CONFLICT (command_id) DO NOTHING`,
          [
            cs.map((c) => c.commandId),
            cs.map((c) => c.batchId ?? batch?.batchId ?? null),
            cs.map((c) => c.deviceId),
            cs.map((c) => c.name),
            cs.map((c) => JSON.stringify(c.args ?? {})),
            cs.map((c) => json(c.actor)),
            cs.map((c) => c.deliverBy.toISOString()),
            cs.map((c) => iso(c.decidedAt ?? null)),
            cs.map((c) => iso(c.createdAt ?? null)),
          ],
        );
        n = res.rowCount ?? 0;
      }
      await client.query('COMMIT');
      return n;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** The domain accepted the command (idempotent: the first decision time stays). False if unknown. */
  async accepted(commandId: string, at = new Date()): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE hf.commands SET decided_at = coalesce(decided_at, $2), claimed_until = NULL, updated_at = now()
        WHERE command_id = $1`,
      [commandId, at],
    );
    return res.rowCount === 1;
  }

  /** accepted() for many commands in one statement (the gateway's egress, per event batch). */
  async acceptedMany(decisions: readonly { commandId: string; at: Date }[]): Promise<number> {
    if (!decisions.length) return 0;
    const res = await this.pool.query(
      `UPDATE hf.commands c SET decided_at = coalesce(c.decided_at, d.at), claimed_until = NULL, updated_at = now()
         FROM unnest($1::text[], $2::timestamptz[]) AS d(id, at)
        WHERE c.command_id = d.id`,
      [decisions.map((d) => d.commandId), decisions.map((d) => d.at.toISOString())],
    );
    return res.rowCount ?? 0;
  }

  /** The domain refused a queued command (queued → rejected). False if it was not queued. */
  async rejected(
    commandId: string,
    reply: { code: string; message: string; details?: unknown },
    at = new Date(),
  ): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE hf.commands SET status = 'rejected', decided_at = coalesce(decided_at, $2), completed_at = $2,
              reply_code = $3, reply_message = $4, reply_details = $5, claimed_until = NULL, updated_at = now()
        WHERE command_id = $1 AND status = 'queued'`,
      [commandId, at, reply.code, reply.message, json(reply.details)],
    );
    return res.rowCount === 1;
  }

  /**
   * queued → sent, with expires_at = sentAt + the command's default timeout. False when someone else
   * sent it already or its deliver_by has passed: then do not publish.
   */
  async markSent(commandId: string, sentAt: Date): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE hf.commands
          SET status = 'sent', sent_at = $2,
              expires_at = $2::timestamptz + coalesce(($3::jsonb ->> name)::bigint, 600000) * interval '1 millisecond',
              updated_at = now()
        WHERE command_id = $1 AND status = 'queued' AND deliver_by > $2`,
      [commandId, sentAt, JSON.stringify(DEFAULT_COMMAND_TIMEOUT_MS)],
    );
    return res.rowCount === 1;
  }

  /** markSent() for many commands in one statement: the ids that moved (only those may be published). */
  async markSentMany(commandIds: readonly string[], sentAt: Date): Promise<Set<string>> {
    if (!commandIds.length) return new Set();
    const { rows } = await this.pool.query<{ command_id: string }>(
      `UPDATE hf.commands
          SET status = 'sent', sent_at = $2,
              expires_at = $2::timestamptz + coalesce(($3::jsonb ->> name)::bigint, 600000) * interval '1 millisecond',
              updated_at = now()
        WHERE command_id = ANY($1::text[]) AND status = 'queued' AND deliver_by > $2
        RETURNING command_id`,
      [commandIds, sentAt, JSON.stringify(DEFAULT_COMMAND_TIMEOUT_MS)],
    );
    return new Set(rows.map((r) => r.command_id));
  }

  /** A device's queued, decided commands still within their deliver_by, in recorded order. */
  async deliverable(deviceId: string, now = new Date()): Promise<DeviceCommandView[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM hf.commands
        WHERE device_id = $1 AND status = 'queued' AND decided_at IS NOT NULL AND deliver_by > $2
        ORDER BY seq`,
      [deviceId, now],
    );
    return rows.map(toView);
  }

  /** Applies an agent's cmd-ack (see AckResult). Safe against concurrent writers: retried on a lost race. */
  async ack(deviceId: string, ack: CommandAck, at = new Date()): Promise<AckResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { rows } = await this.pool.query<{ status: CommandStatus }>(
        `SELECT status FROM hf.commands WHERE command_id = $1 AND device_id = $2`,
        [ack.commandId, deviceId],
      );
      const current = rows[0]?.status;
      if (!current) return 'unknown-command';
      const t = onAck(current, ack.outcome);
      if (t.kind === 'not-sent') return 'unknown-command';
      if (t.kind === 'ignored') return 'ignored';
      if (t.kind === 'late') {
        await this.pool.query(
          `UPDATE hf.commands SET late_ack = $2, updated_at = now() WHERE command_id = $1`,
          [
            ack.commandId,
            JSON.stringify({ outcome: ack.outcome, error: ack.error ?? null, at: at.toISOString() }),
          ],
        );
        return 'late';
      }
      const final = FINAL_COMMAND_STATUSES.includes(t.to);
      const res = await this.pool.query(
        `UPDATE hf.commands
            SET status = $3,
                acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN $4 ELSE acknowledged_at END,
                completed_at = CASE WHEN $5 THEN $4 ELSE completed_at END,
                reply_code = coalesce($6, reply_code), reply_message = coalesce($7, reply_message),
                updated_at = now()
          WHERE command_id = $1 AND status = $2`,
        [ack.commandId, current, t.to, at, final, ack.error?.code ?? null, ack.error?.message ?? null],
      );
      if (res.rowCount === 1) return 'applied';
    }
    return 'ignored';
  }

  /** Deadlines: queued past deliver_by → expired; sent/acknowledged past expires_at → timed-out. */
  async sweep(now = new Date()): Promise<{ expired: number; timedOut: number }> {
    const expired = await this.pool.query(
      `UPDATE hf.commands SET status = 'expired', completed_at = $1, claimed_until = NULL, updated_at = now()
        WHERE status = 'queued' AND deliver_by <= $1`,
      [now],
    );
    const timedOut = await this.pool.query(
      `UPDATE hf.commands SET status = 'timed-out', completed_at = $1, updated_at = now()
        WHERE status IN ('sent', 'acknowledged') AND expires_at <= $1`,
      [now],
    );
    return { expired: expired.rowCount ?? 0, timedOut: timedOut.rowCount ?? 0 };
  }

  async get(commandId: string): Promise<DeviceCommandView | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM hf.commands WHERE command_id = $1`, [
      commandId,
    ]);
    return rows[0] ? toView(rows[0]) : null;
  }

  /** Several commands by id (missing ids are absent from the map). */
  async getMany(commandIds: readonly string[]): Promise<Map<string, DeviceCommandView>> {
    if (!commandIds.length) return new Map();
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM hf.commands WHERE command_id = ANY($1::text[])`,
      [[...new Set(commandIds)]],
    );
    return new Map(rows.map((r) => [r.command_id, toView(r)]));
  }

  /** Newest first, keyset paged on (created_at, command_id). */
  async list(q: CommandListQuery = {}): Promise<CommandPage> {
    const limit = Math.min(1000, Math.max(1, Math.floor(q.limit ?? 100)));
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v)}`;
    if (q.deviceId !== undefined) where.push(`device_id = ${param(q.deviceId)}`);
    if (q.batchId !== undefined) where.push(`batch_id = ${param(q.batchId)}`);
    if (q.status !== undefined) {
      const statuses = typeof q.status === 'string' ? [q.status] : [...q.status];
      where.push(`status = ANY(${param(statuses)}::text[])`);
    }
    if (q.cursor) {
      const [createdKey, commandId] = decodeCursor(q.cursor);
      where.push(`(created_at, command_id) < (${param(createdKey)}::timestamptz, ${param(commandId)})`);
    }
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM hf.commands ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, command_id DESC LIMIT ${param(limit + 1)}`,
      params,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map(toView),
      nextCursor: more && last ? encodeCursor(last.created_key, last.command_id) : null,
    };
  }

  async getBatch(batchId: string): Promise<CommandBatchView | null> {
    const { rows } = await this.pool.query<{
      batch_id: string;
      action: string;
      args: Record<string, unknown>;
      filter: unknown;
      actor: unknown;
      total: number;
      created_at: Date;
    }>(`SELECT * FROM hf.command_batches WHERE batch_id = $1`, [batchId]);
    const r = rows[0];
    return r
      ? {
          batchId: r.batch_id,
          action: r.action,
          args: r.args,
          filter: r.filter,
          actor: r.actor,
          total: r.total,
          createdAt: r.created_at.toISOString(),
        }
      : null;
  }

  /** Commands of a batch by status (every status present, zero when none). */
  async batchCounts(batchId: string): Promise<StatusCounts> {
    const { rows } = await this.pool.query<{ status: CommandStatus; n: string }>(
      `SELECT status, count(*) AS n FROM hf.commands WHERE batch_id = $1 GROUP BY status`,
      [batchId],
    );
    const counts = Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as StatusCounts;
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  /**
   * Claims up to `limit` queued, undecided commands for a bulk dispatcher (FOR UPDATE SKIP LOCKED
   * plus a lease, so concurrent dispatchers take disjoint rows and a crashed one's rows come back
   * after leaseMs). The dispatcher runs each through the domain, then calls accepted() or rejected().
   */
  async undecided(limit: number, leaseMs = 30_000, now = new Date()): Promise<DeviceCommandView[]> {
    const { rows } = await this.pool.query<Row & { seq: string }>(
      `UPDATE hf.commands c SET claimed_until = $2::timestamptz + $3 * interval '1 millisecond', updated_at = now()
        WHERE c.command_id IN (
          SELECT command_id FROM hf.commands
           WHERE status = 'queued' AND decided_at IS NULL AND deliver_by > $2
             AND (claimed_until IS NULL OR claimed_until <= $2)
           ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING seq, ${COLUMNS}`,
      [limit, now, leaseMs],
    );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toView);
  }
}

function encodeCursor(createdKey: string, commandId: string): string {
  return Buffer.from(JSON.stringify([createdKey, commandId])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(v[0]) &&
      typeof v[1] === 'string'
    ) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new DeviceCommandStoreError('INVALID_CURSOR', 'cursor is not one this API returned');
}
