/**
 * The @nestjs/cqrs AggregateRoot as a thin wrapper over a decider: `apply()` runs evolve (no `on<Event>`
 * methods), `loadFromStream()` replays stored events, and `record()` applies a decision's events as
 * uncommitted so the handler can append `getUncommittedEvents()` with the expected version.
 */
import { AggregateRoot } from '@nestjs/cqrs';
import type { AggregateDefinition, Decision } from './decider';
import { UnsupportedEventSchemaError, type DomainEvent } from './event';
import type { StoredEvent } from './event-stream-store';
import { isDomainRejection } from './rejection';

type ApplyOptions = boolean | { fromHistory?: boolean; skipHandler?: boolean };

export class EventSourcedAggregate<S, E extends DomainEvent> extends AggregateRoot<E> {
  private current: S;
  private loadedVersion = 0n;

  constructor(
    readonly streamId: string,
    private readonly definition: AggregateDefinition<S, E>,
  ) {
    super();
    this.current = definition.initialState();
  }

  get state(): S {
    return this.current;
  }

  /** Stream version of the last stored event loaded or appended; 0 when the stream does not exist. */
  get version(): bigint {
    return this.loadedVersion;
  }

  /** Replays the stream. Events of a newer schema than this code knows stop the load. */
  loadFromStream(stored: readonly StoredEvent[]): this {
    for (const recorded of stored) {
      const known = (this.definition.schemaVersions as Record<string, number | undefined>)[recorded.type];
      if (known !== undefined && recorded.schemaVersion > known) {
        throw new UnsupportedEventSchemaError(this.streamId, recorded.type, recorded.schemaVersion, known);
      }
      // Unknown types pass through: evolve ignores what it does not know (tolerant reader).
      const event = { type: recorded.type, schemaVersion: recorded.schemaVersion, data: recorded.data };
      this.apply(event as unknown as E, { fromHistory: true });
      this.loadedVersion = recorded.streamPosition;
    }
    return this;
  }

  /** Starts from a cached state at a known version instead of replaying the stream. */
  restore(state: S, version: bigint): this {
    this.current = state;
    this.loadedVersion = version;
    return this;
  }

  /** Runs evolve for the event; new (not historical) events are kept as uncommitted. */
  override apply<T extends E = E>(event: T, options: ApplyOptions = {}): void {
    const fromHistory = typeof options === 'boolean' ? options : (options.fromHistory ?? false);
    super.apply(event, { fromHistory, skipHandler: true });
    this.current = this.definition.evolve(this.current, event);
  }

  /** Applies a decision: its events become uncommitted; a rejection is thrown. */
  record(decision: Decision<E>): readonly E[] {
    if (isDomainRejection(decision)) throw decision;
    for (const event of decision) this.apply(event);
    return decision;
  }

  /** After a successful append: the stream is at `version` and nothing is uncommitted. */
  markPersisted(version: bigint): void {
    this.loadedVersion = version;
    this.commit();
  }
}
