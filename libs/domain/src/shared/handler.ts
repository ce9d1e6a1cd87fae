import { Inject, Optional } from '@nestjs/common';
import type { EventSourcedAggregate } from './aggregate';
import { DOMAIN_CLOCK, type Clock } from './clock';
import type { CommandOutcome, DomainCommand } from './command';
import type { DomainEvent } from './event';
import { DOMAIN_EVENT_STORE, type EventStreamStore } from './event-stream-store';
import { DOMAIN_STREAM_CACHE, StreamCache } from './stream-cache';

/**
 * Base of every command handler (an ICommandHandler): the store port, the clock and the stream
 * cache, injected by token.
 */
export abstract class DomainCommandHandler<C extends DomainCommand<string, object>> {
  protected readonly cache: StreamCache;

  constructor(
    @Inject(DOMAIN_EVENT_STORE) protected readonly store: EventStreamStore,
    @Inject(DOMAIN_CLOCK) protected readonly clock: Clock,
    @Optional() @Inject(DOMAIN_STREAM_CACHE) cache?: StreamCache,
  ) {
    this.cache = cache ?? new StreamCache(0);
  }

  abstract execute(command: C): Promise<CommandOutcome>;

  /**
   * The current state of another stream a decision reads (the device behind an RTVM, the plan being
   * assigned): the cached state brought up to date with the events appended since, else a full read.
   */
  protected async current<S, E extends DomainEvent>(aggregate: EventSourcedAggregate<S, E>): Promise<S> {
    const cached = this.cache.get(aggregate.streamId);
    if (cached) {
      aggregate
        .restore(cached.state as S, cached.version)
        .loadFromStream(
          await this.store.readStream(aggregate.streamId, { fromVersion: cached.version + 1n }),
        );
    } else {
      aggregate.loadFromStream(await this.store.readStream(aggregate.streamId));
    }
    this.cache.set(aggregate.streamId, { version: aggregate.version, state: aggregate.state });
    return aggregate.state;
  }
}
