import type { Pool } from 'pg';
import type { Delivery, EventTransport, TransportSubscription } from '@hyperfleet/messaging';
import { applyBatch } from './apply';
import type { DeadLetters } from './dead-letters';
import { fromDelivery } from './events';
import { wantsFilter, type ProjectedEvent, type Projection } from './projection';

export interface RunnerOptions {
  readonly pool: Pool;
  readonly transport: EventTransport;
  readonly deadLetters: DeadLetters;
  /** Attempts per event, once a batch has failed, before the event is parked. */
  readonly maxAttempts?: number;
  readonly log?: (line: string) => void;
}

/**
 * Keeps one projection live: consumes the device-events channel in its own consumer group, applies
 * each batch in one transaction with its dedupe positions, and only then lets the transport record
 * progress (offsets, checkpoints). A batch that fails is retried event by event; an event that keeps
 * failing is parked, so one poison event never stops a projection.
 */
export class ProjectionRunner {
  private subscription: TransportSubscription | null = null;
  private readonly wants: (type: string) => boolean;

  constructor(
    readonly projection: Projection,
    private readonly o: RunnerOptions,
  ) {
    this.wants = wantsFilter(projection);
  }

  get group(): string {
    return `projector.${this.projection.name}`;
  }

  async start(): Promise<void> {
    this.subscription = await this.o.transport.subscribe({
      group: this.group,
      channel: 'device-events',
      handle: (batch) => this.handle(batch),
      onError: (err) => this.o.log?.(`${this.projection.name}: ${(err as Error).message}`),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  async waitUntilCaughtUp(timeoutMs?: number): Promise<void> {
    await this.subscription?.waitUntilCaughtUp(timeoutMs);
  }

  async handle(batch: readonly Delivery[]): Promise<void> {
    const events: ProjectedEvent[] = [];
    for (const d of batch) {
      const e = fromDelivery(d);
      if (e && this.wants(e.type)) events.push(e);
    }
    if (events.length === 0) return;
    try {
      await applyBatch(this.o.pool, this.projection, events);
    } catch {
      await this.oneByOne(events);
    }
  }

  private async oneByOne(events: readonly ProjectedEvent[]): Promise<void> {
    const max = this.o.maxAttempts ?? 3;
    for (const e of events) {
      for (let attempt = 1; ; attempt++) {
        try {
          await applyBatch(this.o.pool, this.projection, [e]);
          break;
        } catch (err) {
          if (attempt < max) {
            await new Promise((r) => setTimeout(r, 50 * attempt));
            continue;
          }
          const message = err instanceof Error ? err.message : String(err);
          this.o.log?.(
            `${this.projection.name}: parked ${e.type} ${e.streamId}@${e.streamPosition}: ${message}`,
          );
          await this.o.deadLetters.park(this.projection.name, e, message, attempt);
          break;
        }
      }
    }
  }
}
