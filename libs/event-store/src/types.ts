/**
 * The event store's port. Adapters (Postgres today) implement it; the domain's command side
 * depends only on this file.
 */

/** Position of an event in the global log: transaction id first, then the sequence. See docs/event-store.md. */
export interface LogPosition {
  readonly transactionId: bigint;
  readonly globalPosition: bigint;
}

export const LOG_START: LogPosition = Object.freeze({ transactionId: 0n, globalPosition: 0n });

/** `no-stream`: the stream must not exist; `any`: no check; a number: the stream's current version. */
export type ExpectedVersion = bigint | number | 'no-stream' | 'any';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface EventToAppend {
  /** Past-tense event name, e.g. `RtVmLatencyBudgetBreached`. */
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata?: JsonObject;
  /** Idempotency key: appending the same message ids again is a no-op. Generated when absent. */
  readonly messageId?: string;
  readonly schemaVersion?: number;
  readonly causationId?: string;
  readonly correlationId?: string;
}

export interface RecordedEvent<TData extends JsonObject = JsonObject> {
  readonly streamId: string;
  readonly streamPosition: bigint;
  readonly globalPosition: bigint;
  readonly transactionId: bigint;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: TData;
  readonly metadata: JsonObject;
  readonly messageId: string;
  readonly causationId: string | null;
  readonly correlationId: string | null;
  readonly recordedAt: Date;
}

export interface AppendResult {
  /** The stream's version after the append (its last event's stream position). */
  readonly nextExpectedVersion: bigint;
  /** Positions of the appended events, in order. */
  readonly positions: readonly { streamPosition: bigint; globalPosition: bigint }[];
  /** Position of the last appended event in the global log. */
  readonly logPosition: LogPosition;
  /** True when every message id had been appended before: nothing was written. */
  readonly duplicate: boolean;
}

export interface ReadStreamOptions {
  /** Inclusive. Forward reads default to 1, backward reads to the end. */
  readonly fromVersion?: bigint | number;
  readonly direction?: 'forward' | 'backward';
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Defaults to the start of the log. */
  readonly after?: LogPosition;
  readonly batchSize?: number;
}

export interface ReadAllBatch {
  readonly events: RecordedEvent[];
  /** Position of the last event returned, or `after` when there was none. */
  readonly position: LogPosition;
  /** True when the batch was full: more events may be readable right away. */
  readonly maybeMore: boolean;
}

export interface Snapshot<TState extends JsonValue = JsonValue> {
  readonly streamId: string;
  readonly version: bigint;
  readonly type: string;
  readonly schemaVersion: number;
  readonly state: TState;
  readonly takenAt: Date;
}

export interface EventStore {
  append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly EventToAppend[],
  ): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Current version of a stream, or null when it does not exist. */
  streamVersion(streamId: string): Promise<bigint | null>;
  readAll(options?: ReadAllOptions): Promise<ReadAllBatch>;
  saveSnapshot(snapshot: Omit<Snapshot, 'takenAt'>): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | null>;
}
