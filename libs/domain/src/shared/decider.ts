/**
 * Every aggregate is a decider (as in Emmett): `decide(command, state) → events | rejection` and
 * `evolve(state, event) → state`, both pure. The @nestjs/cqrs AggregateRoot (aggregate.ts) and the
 * command handlers (command-handling.ts) are thin layers over these functions.
 */
import type { DomainEvent } from './event';
import type { DomainRejection } from './rejection';

/** What a decision produces: the events to append (possibly none), or the rule the command broke. */
export type Decision<E extends DomainEvent> = readonly E[] | DomainRejection;

/**
 * What a decision may know besides the command and the state: the time the command was received (ISO),
 * and, for a few commands, read-only facts from another aggregate that the handler loaded (`X`).
 */
export type DecideContext<X extends object = object> = { readonly now: string } & X;

/** The part of a decider that rebuilds state from a stream. */
export interface AggregateDefinition<S, E extends DomainEvent> {
  /** For messages: "Hypervisor", "RtVm", … */
  readonly name: string;
  /** State of a stream that has no events yet. */
  initialState(): S;
  evolve(state: S, event: E): S;
  /** The schema version this code writes for each event type; reading a newer one fails loudly. */
  readonly schemaVersions: { readonly [K in E['type']]: number };
}

export interface Decider<S, E extends DomainEvent, C, X extends object = object> extends AggregateDefinition<
  S,
  E
> {
  decide(command: C, state: S, context: DecideContext<X>): Decision<E>;
}

/** The state after `events`, starting from the initial state. */
export function foldEvents<S, E extends DomainEvent>(
  definition: AggregateDefinition<S, E>,
  events: readonly E[],
): S {
  return events.reduce((state, event) => definition.evolve(state, event), definition.initialState());
}
