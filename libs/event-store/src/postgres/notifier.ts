import type { Pool, PoolClient } from 'pg';

/**
 * One LISTEN connection per pool, shared by every subscription in the process. Wake-ups only
 * shorten the wait: subscriptions poll anyway, so a lost connection costs latency, never events.
 */
export class PostgresNotifier {
  private client: PoolClient | null = null;
  private readonly listeners = new Set<() => void>();
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly channel = 'hf_events',
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners('notification');
      await c.query(`UNLISTEN ${this.channel}`).catch(() => undefined);
      c.release();
    }
  }

  private async connect(): Promise<void> {
    try {
      const c = await this.pool.connect();
      c.on('notification', () => this.listeners.forEach((l) => l()));
      c.on('error', () => {
        if (this.client === c) {
          this.client = null;
          c.release(true);
          this.scheduleReconnect();
        }
      });
      await c.query(`LISTEN ${this.channel}`);
      this.client = c;
      // Whatever was notified while we were away: let everyone look.
      this.listeners.forEach((l) => l());
    } catch {
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, 1000);
    this.reconnectTimer.unref();
  }
}
