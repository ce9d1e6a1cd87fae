import type { Pool } from 'pg';
import type { LogPosition, RecordedEvent } from '../types';
import { LOG_START } from '../types';
import type { PostgresCheckpointStore } from './checkpoint-store';
import type { PostgresNotifier } from './notifier';
import { compareLogPositions } from '../position';
import { readAllWith } from './postgres-event-store';

export interface BatchContext {
  /** The checkpoint before this batch (null: the subscription never stored one). */
  readonly from: LogPosition | null;
  /** The position of the batch's last event. */
  readonly to: LogPosition;
}

/** One read of an xid8-ordered log: what `readAllWith` returns for the event log. */
export interface LogBatch<T> {
  readonly events: T[];
  readonly position: LogPosition;
  readonly maybeMore: boolean;
}

export interface SubscriptionOptions<T = RecordedEvent> {
  readonly id: string;
  readonly pool: Pool;
  readonly checkpoints: PostgresCheckpointStore;
  /**
   * `after-handler`: the subscription stores the checkpoint once the handler resolved (at-least-once).
   * `in-handler`: the handler stores it itself, in the transaction of its own writes (effectively once).
   */
  readonly checkpointing?: 'after-handler' | 'in-handler';
  readonly handle: (events: T[], ctx: BatchContext) => Promise<void>;
  /** Another log with the same ordering rules (e.g. the telemetry log); defaults to the event log. */
  readonly read?: (after: LogPosition, batchSize: number) => Promise<LogBatch<T>>;
  /** The last committed position of that log (with `read`); defaults to the event log's. */
  readonly head?: () => Promise<LogPosition | null>;
  readonly notifier?: PostgresNotifier;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  /** Where to start when no checkpoint is stored. */
  readonly startFrom?: LogPosition;
  readonly onError?: (err: unknown, attempt: number) => void;
}

/** Catch-up, then live: reads the global log from its checkpoint and follows it. */
export class PostgresLogSubscription<T = RecordedEvent> {
  private position: LogPosition | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private woken = false;
  private unsubscribe: (() => void) | null = null;
  private readonly caughtUpWaiters: { after: number; target: LogPosition | null; resolve: () => void }[] = [];
  private readsStarted = 0;

  private readonly read: (after: LogPosition, batchSize: number) => Promise<LogBatch<T>>;

  constructor(private readonly o: SubscriptionOptions<T>) {
    this.read =
      o.read ??
      ((after, batchSize) => readAllWith(o.pool, { after, batchSize }) as unknown as Promise<LogBatch<T>>);
  }

  get currentPosition(): LogPosition | null {
    return this.position;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.position = await this.o.checkpoints.load(this.o.id);
    this.running = true;
    this.unsubscribe = this.o.notifier?.subscribe(() => this.poke()) ?? null;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.poke();
    await this.loop;
  }

  /**
   * Resolves once the subscription has handled every event committed when it is called. (An empty
   * read alone proves nothing: a transaction open anywhere in the cluster can hold back what reads
   * see, so the target is the last committed position, whatever its visibility today.)
   */
  async waitUntilCaughtUp(timeoutMs = 30_000): Promise<void> {
    const target = await (this.o.head ?? (() => lastCommittedEvent(this.o.pool)))();
    const after = this.readsStarted;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.o.id} did not catch up in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.caughtUpWaiters.push({
        after,
        target,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
      this.poke();
    });
  }

  private poke(): void {
    this.woken = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    const batchSize = this.o.batchSize ?? 500;
    const poll = this.o.pollIntervalMs ?? 500;
    let attempt = 0;
    let quickRetries = 0;
    while (this.running) {
      const triggered = this.woken;
      this.woken = false;
      const readNo = ++this.readsStarted;
      let more = false;
      let read = 0;
      try {
        const from = this.position;
        const batch = await this.read(from ?? this.o.startFrom ?? LOG_START, batchSize);
        read = batch.events.length;
        if (read > 0) {
          await this.o.handle(batch.events, { from, to: batch.position });
          if ((this.o.checkpointing ?? 'after-handler') === 'after-handler') {
            await this.o.checkpoints.store(this.o.id, from, batch.position);
          }
          this.position = batch.position;
        }
        more = batch.maybeMore;
        attempt = 0;
      } catch (err) {
        attempt++;
        this.o.onError?.(err, attempt);
        // The backoff holds even when new events are announced: the database may be what failed.
        await this.sleep(Math.min(100 * 2 ** attempt, 5_000), false);
        continue;
      }
      if (more || read > 0) continue;
      // An empty read that began after a waiter registered proves it has seen everything.
      const at = this.position ?? this.o.startFrom ?? LOG_START;
      for (let i = this.caughtUpWaiters.length - 1; i >= 0; i--) {
        const w = this.caughtUpWaiters[i];
        if (w.after < readNo && (w.target === null || compareLogPositions(at, w.target) >= 0)) {
          this.caughtUpWaiters.splice(i, 1)[0].resolve();
        }
      }
      // A notify can arrive while an older transaction still hides the new events: look again soon.
      if ((triggered || this.woken) && quickRetries < 20) {
        quickRetries++;
        await this.sleep(25);
      } else {
        quickRetries = 0;
        await this.sleep(poll);
      }
    }
    this.caughtUpWaiters.splice(0).forEach((w) => w.resolve());
  }

  /** Until `ms` pass, the subscription stops, or (if `wakeable`) a notification arrives. */
  private sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = wakeable ? done : () => (this.running ? undefined : done());
      if (!this.running || (wakeable && this.woken)) done();
    });
  }
}

/** The last event committed to the log, in log order, visible or not yet to readers. */
export async function lastCommittedEvent(pool: Pool): Promise<LogPosition | null> {
  const { rows } = await pool.query<{ tx_id: string; global_position: string }>(
    `SELECT transaction_id::text AS tx_id, global_position FROM hf.events
      ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
  );
  return rows.length
    ? { transactionId: BigInt(rows[0].tx_id), globalPosition: BigInt(rows[0].global_position) }
    : null;
}
