/**
 * The EventStreamStore port in memory, with the Postgres store's semantics where the domain relies on
 * them: expected-version checks that throw `code: WRONG_EXPECTED_VERSION`, message-id idempotency, and
 * event data that must be plain JSON (copied in and out, so nobody shares objects with the store).
 */
import type {
  EventStreamStore,
  EventToStore,
  ExpectedStreamVersion,
  StoredEvent,
  StreamAppendResult,
} from '../shared/event-stream-store';
import { WRONG_EXPECTED_VERSION } from '../shared/event-stream-store';
import { toJsonObject, type JsonObject } from '../shared/json';

export class InMemoryWrongExpectedVersionError extends Error {
  readonly code = WRONG_EXPECTED_VERSION;
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: bigint | null,
  ) {
    super(
      `Stream ${streamId}: expected version ${expected}, but it is ${actual === null ? 'absent' : `at ${actual}`}`,
    );
    this.name = 'InMemoryWrongExpectedVersionError';
  }
}

export interface InMemoryStoredEvent extends StoredEvent {
  readonly globalPosition: bigint;
  readonly metadata: JsonObject;
  readonly causationId: string | null;
  readonly correlationId: string | null;
}

export class InMemoryEventStreamStore implements EventStreamStore {
  private readonly streams = new Map<string, InMemoryStoredEvent[]>();
  private readonly messageIds = new Map<string, { streamId: string; position: bigint }>();
  private globalPosition = 0n;
  private generatedIds = 0;
  /** Called before each append is applied; tests use it to interleave a concurrent writer. */
  beforeAppend?: (streamId: string) => Promise<void> | void;

  async readStream(
    streamId: string,
    options: { fromVersion?: bigint } = {},
  ): Promise<readonly StoredEvent[]> {
    const from = options.fromVersion ?? 1n;
    return (this.streams.get(streamId) ?? [])
      .filter((e) => e.streamPosition >= from)
      .map((e) => ({ ...e, data: structuredClone(e.data) }));
  }

  async append(
    streamId: string,
    expected: ExpectedStreamVersion,
    events: readonly EventToStore[],
  ): Promise<StreamAppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const copies = events.map((e) => ({ ...e, data: toJsonObject(e.data, `${e.type}.data`) }));
    await this.beforeAppend?.(streamId);

    const stream = this.streams.get(streamId) ?? [];
    const version = stream.length === 0 ? null : BigInt(stream.length);
    const ids = copies.map((e) => e.messageId);
    if (ids.every((id) => id !== undefined && this.messageIds.get(id)?.streamId === streamId)) {
      return {
        nextExpectedVersion: this.messageIds.get(ids[ids.length - 1] as string)!.position,
        duplicate: true,
      };
    }
    const ok =
      expected === 'any' ||
      (expected === 'no-stream' ? version === null : version !== null && version === BigInt(expected));
    if (!ok) throw new InMemoryWrongExpectedVersionError(streamId, String(expected), version);

    for (const e of copies) {
      const position = BigInt(stream.length + 1);
      const messageId = e.messageId ?? `in-memory-${++this.generatedIds}`;
      if (this.messageIds.has(messageId)) throw new Error(`message id ${messageId} was appended before`);
      this.messageIds.set(messageId, { streamId, position });
      stream.push({
        streamId,
        streamPosition: position,
        globalPosition: ++this.globalPosition,
        type: e.type,
        schemaVersion: e.schemaVersion ?? 1,
        data: e.data,
        metadata: e.metadata ?? {},
        messageId,
        causationId: e.causationId ?? null,
        correlationId: e.correlationId ?? null,
      });
    }
    this.streams.set(streamId, stream);
    return { nextExpectedVersion: BigInt(stream.length), duplicate: false };
  }

  /** Every event of the stream with its envelope, for assertions. */
  recorded(streamId: string): readonly InMemoryStoredEvent[] {
    return this.streams.get(streamId) ?? [];
  }

  streamNames(): string[] {
    return [...this.streams.keys()].sort();
  }
}
