/**
 * A domain event as the deciders produce it and evolve consumes it: a past-tense type, the version of its
 * data's schema, and plain JSON data (see json.ts). The store's envelope (positions, message id,
 * correlation) stays outside the domain.
 */
export interface DomainEvent<TType extends string = string, TData extends object = object> {
  readonly type: TType;
  /** Version of `data`'s shape for this type. Bump it (and add an upcaster) when the shape changes. */
  readonly schemaVersion: number;
  readonly data: TData;
}

/** Every event of every aggregate is at schema version 1 today. */
export const INITIAL_SCHEMA_VERSION = 1;

/** Builds an event with the schema version from a per-aggregate table of current versions. */
export function eventFactory<TEvent extends DomainEvent>(versions: { [K in TEvent['type']]: number }) {
  return <K extends TEvent['type']>(type: K, data: Extract<TEvent, { type: K }>['data']) =>
    ({ type, schemaVersion: versions[type], data }) as unknown as Extract<TEvent, { type: K }>;
}

/** Thrown when a stream holds an event written by a newer schema than this code knows. */
export class UnsupportedEventSchemaError extends Error {
  constructor(
    readonly streamId: string,
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly supported: number,
  ) {
    super(
      `Stream ${streamId}: ${eventType} has schema version ${schemaVersion}, but this code knows only up to ${supported}; ` +
        `deploy the newer code before reading this stream`,
    );
    this.name = 'UnsupportedEventSchemaError';
  }
}
