import { Inject } from '@nestjs/common';
import { DOMAIN_CLOCK, type Clock } from './clock';
import type { CommandOutcome, DomainCommand } from './command';
import { DOMAIN_EVENT_STORE, type EventStreamStore } from './event-stream-store';

/** Base of every command handler (an ICommandHandler): the store port and the clock, injected by token. */
export abstract class DomainCommandHandler<C extends DomainCommand<string, object>> {
  constructor(
    @Inject(DOMAIN_EVENT_STORE) protected readonly store: EventStreamStore,
    @Inject(DOMAIN_CLOCK) protected readonly clock: Clock,
  ) {}

  abstract execute(command: C): Promise<CommandOutcome>;
}
