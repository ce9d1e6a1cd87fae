import type { Pool, PoolClient } from 'pg';
import {
  PostgresCheckpointStore,
  PostgresLogSubscription,
  type LogBatch,
  type LogPosition,
} from '@hyperfleet/event-store';
import type { EventTransport } from '../transport/event-transport';
import { lastTelemetryPosition, readTelemetryLog, type TelemetryLogRecord } from './telemetry-log';

export interface TelemetryRelayOptions {
  readonly pool: Pool;
  readonly transport: EventTransport;
  /**
   * The spool's bound: unpublished records kept at most (estimated from log positions). Past it the
   * OLDEST unpublished records are dropped, counted, logged and shown in /health: ingest never
   * refuses a device because the broker is away. Default 5,000,000 (~13 GB at ~2.6 kB a record).
   */
  readonly maxSpoolRows?: number;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  /** How often the leader deletes published records and enforces the bound. */
  readonly maintenanceIntervalMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (err: unknown, attempt: number) => void;
}

export interface TelemetryRelayStatus {
  readonly leader: boolean;
  readonly position: LogPosition | null;
  /** Records committed but not yet acknowledged by the broker (estimated from positions). */
  readonly backlog: number;
  readonly maxSpoolRows: number;
  /** Records this process dropped because the spool was over its bound. */
  readonly dropped: number;
  /** The last publish error; null once a publish succeeded again. */
  readonly lastError: string | null;
  /** Since when publishing fails (ISO time), null when it does not. */
  readonly failingSince: string | null;
}

export const TELEMETRY_RELAY_ID = 'telemetry-relay:telemetry';
const LEADER_LOCK = 0x6866_746c; // one relay per database publishes, so per-key order holds
export const DEFAULT_MAX_SPOOL_ROWS = 5_000_000;
/** Rows one maintenance statement deletes at most (keeps its locks and WAL burst short). */
const DELETE_CHUNK = 50_000;

/**
 * Publishes hf.telemetry_log to the transport's telemetry channel (Kafka), at least once and in
 * per-device order: one batch in flight, in log order, and the checkpoint stored only after the
 * broker acknowledged the whole batch (acks=all, idempotent producer: its own retries leave no
 * duplicate). A batch that fails is sent again whole, and nothing after it goes first, so record n+1
 * of a device is never published before record n is acknowledged. What can repeat: the records of
 * the batch in flight when a relay process dies (published, checkpoint not stored); consumers drop
 * them by CloudEvent `id`.
 */
export class TelemetryRelay {
  private sub: PostgresLogSubscription<TelemetryLogRecord> | null = null;
  private lockClient: PoolClient | null = null;
  private leaderTimer: NodeJS.Timeout | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastError: string | null = null;
  private failingSince: Date | null = null;
  private dropped = 0;
  private prefetch: { after: string; batch: Promise<LogBatch<TelemetryLogRecord>> } | null = null;
  private readonly checkpoints: PostgresCheckpointStore;
  private readonly maxSpoolRows: number;
  private readonly log: (line: string) => void;

  constructor(private readonly o: TelemetryRelayOptions) {
    this.checkpoints = new PostgresCheckpointStore(o.pool);
    this.maxSpoolRows = o.maxSpoolRows ?? DEFAULT_MAX_SPOOL_ROWS;
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tryLead();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    const sub = this.sub;
    this.sub = null;
    // A publish waiting for an absent broker would hold shutdown forever: its batch is sent again
    // by the next leader (the checkpoint was not stored).
    await Promise.race([sub?.stop(), new Promise((r) => setTimeout(r, 3000).unref())]);
    const c = this.lockClient;
    this.lockClient = null;
    if (c) {
      await c.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => undefined);
      c.release();
    }
  }

  get isLeader(): boolean {
    return this.sub !== null;
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    if (!this.sub) throw new Error('the telemetry relay is not leading in this process');
    await this.sub.waitUntilCaughtUp(timeoutMs);
  }

  async status(): Promise<TelemetryRelayStatus> {
    const position = this.sub?.currentPosition ?? (await this.checkpoints.load(TELEMETRY_RELAY_ID));
    return {
      leader: this.sub !== null,
      position,
      backlog: await this.backlog(position),
      maxSpoolRows: this.maxSpoolRows,
      dropped: this.dropped,
      lastError: this.lastError,
      failingSince: this.failingSince?.toISOString() ?? null,
    };
  }

  /**
   * Deletes what the broker has acknowledged, then, if the unpublished rest is over the bound,
   * drops its oldest records. Returns how many records were dropped.
   */
  async maintain(): Promise<number> {
    const position = this.sub?.currentPosition ?? (await this.checkpoints.load(TELEMETRY_RELAY_ID));
    if (position) {
      // Everything at or below the checkpoint was read below the oldest running transaction, so no
      // row can still commit there: deleting it loses nothing.
      for (;;) {
        const res = await this.o.pool.query(
          `DELETE FROM hf.telemetry_log WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM hf.telemetry_log WHERE (transaction_id, position) <= ($1::text::xid8, $2::bigint)
              ORDER BY transaction_id, position LIMIT $3))`,
          [position.transactionId.toString(), position.globalPosition.toString(), DELETE_CHUNK],
        );
        if ((res.rowCount ?? 0) < DELETE_CHUNK) break;
      }
    }
    const backlog = await this.backlog(position);
    let excess = backlog - this.maxSpoolRows;
    if (excess <= 0) return 0;
    let dropped = 0;
    const after = position ?? { transactionId: 0n, globalPosition: 0n };
    while (excess > 0) {
      // Committed rows in log order, without the xmin bound the reads use: a long transaction anywhere
      // in the cluster must not keep the spool from its bound (the relay still reads what is left in order).
      const res = await this.o.pool.query(
        `DELETE FROM hf.telemetry_log WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM hf.telemetry_log WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
            ORDER BY transaction_id, position LIMIT $3))`,
        [after.transactionId.toString(), after.globalPosition.toString(), Math.min(excess, DELETE_CHUNK)],
      );
      const n = res.rowCount ?? 0;
      if (n === 0) break;
      dropped += n;
      excess -= n;
    }
    this.dropped += dropped;
    this.log(
      `TELEMETRY_SPOOL_FULL: ${backlog} unpublished telemetry records over the spool bound of ` +
        `${this.maxSpoolRows}; dropped the oldest ${dropped} (${this.dropped} since start). ` +
        `Last publish error: ${this.lastError ?? 'none'}`,
    );
    return dropped;
  }

  /**
   * Unpublished records: from the first one after the checkpoint to the last committed one, by
   * position (two index probes, no count; a rolled-back batch's positions count too).
   */
  private async backlog(position: LogPosition | null): Promise<number> {
    const last = await lastTelemetryPosition(this.o.pool);
    if (!last) return 0;
    const after = position ?? { transactionId: 0n, globalPosition: 0n };
    const { rows } = await this.o.pool.query<{ first: string }>(
      `SELECT position AS first FROM hf.telemetry_log WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
        ORDER BY transaction_id, position LIMIT 1`,
      [after.transactionId.toString(), after.globalPosition.toString()],
    );
    return rows.length ? Math.max(0, Number(last.globalPosition - BigInt(rows[0].first)) + 1) : 0;
  }

  /**
   * Reads the next batch while the current one is being published (a catch-up is then bounded by
   * the slower of the two, not their sum). A prefetched read stays valid: it only saw rows below
   * the oldest running transaction, and nothing can commit there later.
   */
  private async readAhead(after: LogPosition, n: number): Promise<LogBatch<TelemetryLogRecord>> {
    const key = (p: LogPosition) => `${p.transactionId}/${p.globalPosition}`;
    const hit = this.prefetch?.after === key(after) ? this.prefetch.batch : null;
    this.prefetch = null;
    const batch = await (hit ?? readTelemetryLog(this.o.pool, after, n));
    if (batch.events.length === n) {
      const next = readTelemetryLog(this.o.pool, batch.position, n);
      next.catch(() => undefined); // a failed prefetch is read again, and reported, by the next read
      this.prefetch = { after: key(batch.position), batch: next };
    }
    return batch;
  }

  private async tryLead(): Promise<void> {
    if (this.stopped) return;
    try {
      const c = await this.o.pool.connect();
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK]);
      if (!rows[0].ok) {
        c.release();
        this.retryLeadLater();
        return;
      }
      this.lockClient = c;
      // Losing the connection loses the lock: step down and compete again.
      c.on('error', () => void this.stepDown());
      this.sub = new PostgresLogSubscription<TelemetryLogRecord>({
        id: TELEMETRY_RELAY_ID,
        pool: this.o.pool,
        checkpoints: this.checkpoints,
        batchSize: this.o.batchSize ?? 1000,
        pollIntervalMs: this.o.pollIntervalMs ?? 100,
        read: (after, n) => this.readAhead(after, n),
        head: () => lastTelemetryPosition(this.o.pool),
        handle: async (records) => {
          // kafkajs retries a send until the broker is back: say so while it waits.
          const slow = setTimeout(() => {
            this.lastError = 'the broker has not acknowledged the batch in flight for 5 s';
            this.failingSince ??= new Date();
          }, 5000);
          try {
            await this.o.transport.publish('telemetry', records);
          } finally {
            clearTimeout(slow);
          }
          if (this.failingSince) {
            this.log(
              `telemetry relay: publishing again after failing since ${this.failingSince.toISOString()}`,
            );
          }
          this.lastError = null;
          this.failingSince = null;
        },
        onError: (err, attempt) => {
          this.lastError = err instanceof Error ? err.message : String(err);
          this.failingSince ??= new Date();
          this.o.onError?.(err, attempt);
        },
      });
      await this.sub.start();
      this.maintenanceTimer = setInterval(
        () =>
          void this.maintain().catch((err: Error) => this.log(`telemetry spool maintenance: ${err.message}`)),
        this.o.maintenanceIntervalMs ?? 5000,
      );
      this.maintenanceTimer.unref();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.retryLeadLater();
    }
  }

  private async stepDown(): Promise<void> {
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
    await this.sub?.stop();
    this.sub = null;
    this.lockClient?.release(true);
    this.lockClient = null;
    this.retryLeadLater();
  }

  private retryLeadLater(): void {
    if (this.stopped) return;
    this.leaderTimer = setTimeout(() => void this.tryLead(), 2000);
    this.leaderTimer.unref();
  }
}
