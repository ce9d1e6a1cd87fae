import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { HYPERVISOR_COMMAND_HANDLERS } from './hypervisor/hypervisor.handlers';
import { PARTITION_PLAN_COMMAND_HANDLERS } from './partition-plan/partition-plan.handlers';
import { RELEASE_COMMAND_HANDLERS } from './release/release.handlers';
import { RT_VM_COMMAND_HANDLERS } from './rt-vm/rt-vm.handlers';
import { SERVICE_VM_COMMAND_HANDLERS } from './service-vm/service-vm.handlers';
import { VM_COMMAND_HANDLERS } from './vm/vm.handlers';
import { DOMAIN_CLOCK, systemClock, type Clock } from './shared/clock';
import { DOMAIN_EVENT_STORE, type EventStreamStore } from './shared/event-stream-store';
import { DOMAIN_STREAM_CACHE, StreamCache } from './shared/stream-cache';

export const DOMAIN_COMMAND_HANDLERS = [
  ...HYPERVISOR_COMMAND_HANDLERS,
  ...SERVICE_VM_COMMAND_HANDLERS,
  ...RT_VM_COMMAND_HANDLERS,
  ...VM_COMMAND_HANDLERS,
  ...PARTITION_PLAN_COMMAND_HANDLERS,
  ...RELEASE_COMMAND_HANDLERS,
];

type StoreBinding =
  | { useValue: EventStreamStore }
  | { useExisting: string | symbol | (abstract new (...args: never[]) => unknown) }
  | { useFactory: (...args: never[]) => EventStreamStore | Promise<EventStreamStore>; inject?: unknown[] };

export interface DomainModuleOptions {
  /**
   * How to get the event store, e.g. `{ useExisting: EVENT_STORE }` with PlatformModule. Leave it out
   * when a global module already provides DOMAIN_EVENT_STORE.
   */
  readonly eventStore?: StoreBinding;
  /** Modules the store binding needs (not needed for global modules such as PlatformModule). */
  readonly imports?: ModuleMetadata['imports'];
  /** Where "now" comes from; the system clock by default. */
  readonly clock?: Clock;
  /** Aggregate states kept per process (0: read every stream on every command). The default holds a
   * fleet of 20,000 devices (a hypervisor, a Service VM and up to three RTVM streams each). */
  readonly streamCacheSize?: number;
}

/**
 * Registers every domain command handler with @nestjs/cqrs. The app imports CqrsModule.forRoot() once and
 * binds DOMAIN_EVENT_STORE to the Postgres store:
 *
 *   imports: [CqrsModule.forRoot(), DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } })]
 */
@Module({})
export class DomainModule {
  static forRoot(options: DomainModuleOptions = {}): DynamicModule {
    const store: Provider[] = options.eventStore
      ? [{ provide: DOMAIN_EVENT_STORE, ...options.eventStore } as Provider]
      : [];
    return {
      module: DomainModule,
      imports: [CqrsModule, ...(options.imports ?? [])],
      providers: [
        ...store,
        { provide: DOMAIN_CLOCK, useValue: options.clock ?? systemClock },
        { provide: DOMAIN_STREAM_CACHE, useValue: new StreamCache(options.streamCacheSize ?? 100_000) },
        ...DOMAIN_COMMAND_HANDLERS,
      ],
      exports: [...(options.eventStore ? [DOMAIN_EVENT_STORE] : []), DOMAIN_CLOCK],
    };
  }
}
