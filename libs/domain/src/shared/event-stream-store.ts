/**
 * The domain's port onto the event store: just the two calls the command side needs. It mirrors
 * libs/event-store/src/types.ts (EventStore.readStream / append) so that PostgresEventStore satisfies it
 * structurally, without libs/domain importing the adapter. Apps bind DOMAIN_EVENT_STORE to it.
 */
import type { JsonObject } from './json';

/** `no-stream`: the stream must not exist; `any`: no check; a number: the stream's current version. */
export type ExpectedStreamVersion = bigint | number | 'no-stream' | 'any';

export interface EventToStore {
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata?: JsonObject;
  /** Idempotency key: appending the same message ids again (same stream, same order) writes nothing. */
  readonly messageId?: string;
  readonly schemaVersion?: number;
  readonly causationId?: string;
  readonly correlationId?: string;
}

/** The fields of a recorded event the domain reads; the store's RecordedEvent has these and more. */
export interface StoredEvent {
  readonly streamId: string;
  readonly streamPosition: bigint;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: JsonObject;
  readonly messageId: string;
}

export interface StreamAppendResult {
  /** The stream's version after the append (its last event's stream position). */
  readonly nextExpectedVersion: bigint;
  /** True when every message id had been appended before: nothing was written. */
  readonly duplicate: boolean;
}

export interface EventStreamStore {
  /** The stream's events in order (from `fromVersion`, inclusive); empty when it does not exist. */
  readStream(streamId: string, options?: { fromVersion?: bigint }): Promise<readonly StoredEvent[]>;
  /**
   * Appends atomically if the stream is at `expected`; otherwise throws an error whose `code` is
   * `WRONG_EXPECTED_VERSION` (the store's WrongExpectedVersionError) and writes nothing.
   */
  append(
    streamId: string,
    expected: ExpectedStreamVersion,
    events: readonly EventToStore[],
  ): Promise<StreamAppendResult>;
}

/** Injection token for the EventStreamStore; apps bind it to PostgresEventStore. */
export const DOMAIN_EVENT_STORE = Symbol.for('hyperfleet.domain.EventStreamStore');

export const WRONG_EXPECTED_VERSION = 'WRONG_EXPECTED_VERSION';

/** Recognises the store's optimistic-concurrency failure by its stable `code`, not by its class. */
export function isWrongExpectedVersion(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === WRONG_EXPECTED_VERSION
  );
}

export const DUPLICATE_MESSAGE_ID = 'DUPLICATE_MESSAGE_ID';

/** The store refused a batch that repeats message ids appended before in another shape. */
export function isDuplicateMessageId(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_MESSAGE_ID
  );
}
