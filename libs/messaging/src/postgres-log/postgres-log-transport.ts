import type { Pool, PoolClient } from 'pg';
import {
  LOG_START,
  PostgresCheckpointStore,
  PostgresLogSubscription,
  formatLogPosition,
  readAllWith,
  type LogBatch,
  type LogPosition,
  type PostgresNotifier,
} from '@hyperfleet/event-store';
import { writeTelemetryLog } from '../telemetry-spool/telemetry-log';
import { parseCloudEvent, toTransportRecord } from '../transport/cloud-event';
import type {
  Channel,
  Delivery,
  EventTransport,
  SubscribeOptions,
  TransportRecord,
  TransportSubscription,
} from '../transport/event-transport';

export interface PostgresLogTransportOptions {
  readonly pool: Pool;
  readonly notifier?: PostgresNotifier;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  /** Telemetry older than this is pruned. */
  readonly telemetryRetentionMs?: number;
}

/**
 * The embedded default: no broker, the PostgreSQL event log is the device-events channel and a
 * sibling table is the telemetry channel. Group progress lives in hf.checkpoints.
 */
export class PostgresLogTransport implements EventTransport {
  readonly kind = 'postgres-log' as const;
  private readonly checkpoints: PostgresCheckpointStore;
  private readonly subs = new Set<PostgresLogSubscription<Delivery>>();
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: PostgresLogTransportOptions) {
    this.checkpoints = new PostgresCheckpointStore(o.pool);
  }

  async start(): Promise<void> {
    const retention = this.o.telemetryRetentionMs ?? 24 * 3600_000;
    this.pruneTimer = setInterval(() => void this.pruneTelemetry(retention).catch(() => undefined), 60_000);
    this.pruneTimer.unref();
  }

  async publish(channel: Channel, records: readonly TransportRecord[]): Promise<void> {
    if (channel === 'device-events') {
      throw new Error(
        'On the PostgreSQL log, device events are the event store: append them to their stream',
      );
    }
    if (channel === 'dead-letters') {
      throw new Error('On the PostgreSQL log, parked events live in rm.dead_letters only');
    }
    await this.publishTelemetryWith(this.o.pool, records);
  }

  /**
   * Telemetry records written through the caller's connection, so inside its transaction: the
   * gateway commits them with the verdicts that accept their messages (same database).
   */
  async publishTelemetryWith(
    client: Pick<Pool, 'query'> | Pick<PoolClient, 'query'>,
    records: readonly TransportRecord[],
  ): Promise<void> {
    await writeTelemetryLog(client, records);
  }

  async subscribe(options: SubscribeOptions): Promise<TransportSubscription> {
    if (options.channel === 'dead-letters') {
      throw new Error('On the PostgreSQL log, parked events live in rm.dead_letters: query that table');
    }
    const id = `transport:${options.channel}:${options.group}`;
    const startFrom = options.fromBeginning === false ? await this.head(options.channel) : LOG_START;
    const sub = new PostgresLogSubscription<Delivery>({
      id,
      pool: this.o.pool,
      checkpoints: this.checkpoints,
      notifier: options.channel === 'device-events' ? this.o.notifier : undefined,
      batchSize: this.o.batchSize ?? 500,
      pollIntervalMs: this.o.pollIntervalMs ?? (options.channel === 'telemetry' ? 200 : 500),
      startFrom,
      read:
        options.channel === 'device-events'
          ? (a, n) => this.readEvents(a, n)
          : (a, n) => this.readTelemetry(a, n),
      ...(options.channel === 'telemetry' ? { head: () => this.lastTelemetry() } : {}),
      handle: (batch) => options.handle(batch),
      onError: (err) => options.onError?.(err),
    });
    await sub.start();
    this.subs.add(sub);
    return {
      waitUntilCaughtUp: (ms) => sub.waitUntilCaughtUp(ms),
      stop: async () => {
        this.subs.delete(sub);
        await sub.stop();
      },
    };
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.all([...this.subs].map((s) => s.stop()));
    this.subs.clear();
  }

  async pruneTelemetry(olderThanMs: number): Promise<number> {
    const res = await this.o.pool.query(
      `DELETE FROM hf.telemetry_log WHERE recorded_at < now() - ($1::bigint * interval '1 millisecond')`,
      [olderThanMs],
    );
    return res.rowCount ?? 0;
  }

  private async readEvents(after: LogPosition, batchSize: number): Promise<LogBatch<Delivery>> {
    const batch = await readAllWith(this.o.pool, { after, batchSize });
    return {
      events: batch.events.map((e) => ({
        ...toTransportRecord(e),
        channel: 'device-events' as const,
        position: formatLogPosition(e),
      })),
      position: batch.position,
      maybeMore: batch.maybeMore,
    };
  }

  private async readTelemetry(after: LogPosition, batchSize: number): Promise<LogBatch<Delivery>> {
    const { rows } = await this.o.pool.query<{
      tx_id: string;
      position: string;
      key: string;
      event: unknown;
    }>(
      `SELECT transaction_id::text AS tx_id, position, key, event FROM hf.telemetry_log
        WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position
        LIMIT $3`,
      [after.transactionId.toString(), after.globalPosition.toString(), batchSize],
    );
    const events = rows.map((r) => {
      const pos = { transactionId: BigInt(r.tx_id), globalPosition: BigInt(r.position) };
      return {
        key: r.key,
        event: parseCloudEvent(r.event),
        channel: 'telemetry' as const,
        position: formatLogPosition(pos),
        pos,
      };
    });
    const last = events[events.length - 1];
    return {
      events: events.map(({ pos: _pos, ...d }) => d),
      position: last ? last.pos : after,
      maybeMore: events.length === batchSize,
    };
  }

  private async lastTelemetry(): Promise<LogPosition | null> {
    const { rows } = await this.o.pool.query<{ tx_id: string; position: string }>(
      `SELECT transaction_id::text AS tx_id, position FROM hf.telemetry_log ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    );
    return rows.length
      ? { transactionId: BigInt(rows[0].tx_id), globalPosition: BigInt(rows[0].position) }
      : null;
  }

  private async head(channel: Channel): Promise<LogPosition> {
    const sql =
      channel === 'device-events'
        ? `SELECT transaction_id::text AS tx_id, global_position AS position FROM hf.events
            WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY transaction_id DESC, global_position DESC LIMIT 1`
        : `SELECT transaction_id::text AS tx_id, position FROM hf.telemetry_log
            WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY transaction_id DESC, position DESC LIMIT 1`;
    const { rows } = await this.o.pool.query<{ tx_id: string; position: string }>(sql);
    return rows.length
      ? { transactionId: BigInt(rows[0].tx_id), globalPosition: BigInt(rows[0].position) }
      : LOG_START;
  }
}
