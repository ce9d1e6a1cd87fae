import type { Pool, PoolClient } from 'pg';
import {
  PostgresCheckpointStore,
  PostgresLogSubscription,
  type LogPosition,
  type PostgresNotifier,
} from '@hyperfleet/event-store';
import { toTransportRecord } from '../transport/cloud-event';
import type { EventTransport } from '../transport/event-transport';

export interface OutboxRelayOptions {
  readonly pool: Pool;
  readonly transport: EventTransport;
  readonly notifier?: PostgresNotifier;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  readonly onError?: (err: unknown, attempt: number) => void;
}

export interface RelayStatus {
  readonly leader: boolean;
  readonly position: LogPosition | null;
  /** Events appended but not yet published. */
  readonly backlog: number;
  readonly lastError: string | null;
}

const RELAY_ID = 'outbox-relay:device-events';
const LEADER_LOCK = 0x6866_7265; // one relay per database publishes, so per-key order holds

/**
 * Publishes the event store to the transport's device-events channel, at least once and in order.
 * The event log is the outbox: events and their "to publish" record are the same committed rows,
 * and the relay's checkpoint says how far it got, so a broker outage only grows the backlog.
 */
export class OutboxRelay {
  private sub: PostgresLogSubscription | null = null;
  private lockClient: PoolClient | null = null;
  private leaderTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastError: string | null = null;
  private readonly checkpoints: PostgresCheckpointStore;

  constructor(private readonly o: OutboxRelayOptions) {
    this.checkpoints = new PostgresCheckpointStore(o.pool);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tryLead();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaderTimer) clearTimeout(this.leaderTimer);
    await this.sub?.stop();
    this.sub = null;
    const c = this.lockClient;
    this.lockClient = null;
    if (c) {
      await c.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => undefined);
      c.release();
    }
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    if (!this.sub) throw new Error('the outbox relay is not leading in this process');
    await this.sub.waitUntilCaughtUp(timeoutMs);
  }

  async status(): Promise<RelayStatus> {
    const position = await this.checkpoints.load(RELAY_ID);
    const { rows } = await this.o.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM hf.events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`,
      [String(position?.transactionId ?? 0n), String(position?.globalPosition ?? 0n)],
    );
    return { leader: this.sub !== null, position, backlog: Number(rows[0].n), lastError: this.lastError };
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
      this.sub = new PostgresLogSubscription({
        id: RELAY_ID,
        pool: this.o.pool,
        checkpoints: this.checkpoints,
        notifier: this.o.notifier,
        batchSize: this.o.batchSize ?? 500,
        pollIntervalMs: this.o.pollIntervalMs ?? 500,
        handle: async (events) => {
          await this.o.transport.publish('device-events', events.map(toTransportRecord));
          this.lastError = null;
        },
        onError: (err, attempt) => {
          this.lastError = err instanceof Error ? err.message : String(err);
          this.o.onError?.(err, attempt);
        },
      });
      await this.sub.start();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.retryLeadLater();
    }
  }

  private async stepDown(): Promise<void> {
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
