/**
 * The command side's one loop: read the stream, evolve, decide, append with the expected version, and on
 * a version conflict re-decide only when the command's retry policy says that is safe.
 */
import type { CommandMeta, CommandOutcome } from './command';
import type { Clock } from './clock';
import type { DecideContext, Decision } from './decider';
import type { EventSourcedAggregate } from './aggregate';
import type { DomainEvent } from './event';
import {
  isDuplicateMessageId,
  isWrongExpectedVersion,
  type EventStreamStore,
  type StoredEvent,
} from './event-stream-store';
import { toJsonObject, type JsonObject } from './json';
import type { StreamCache } from './stream-cache';
import { reject, type DomainRejection } from './rejection';

/**
 * What to do when the append finds the stream moved since it was read.
 * - `redecide`: reload and decide again. Safe when the decision depends only on the command and the
 *   state decide sees (every precondition is re-checked against the fresh state), so the retry either
 *   yields the right events for the new state or the right rejection.
 * - `reject`: do not retry; the conflict itself answers the command (`rejection()`).
 */
export type RetryPolicy =
  | { readonly onConflict: 'redecide'; readonly maxAttempts: number; readonly reason: string }
  | { readonly onConflict: 'reject'; readonly reason: string; rejection(streamId: string): DomainRejection };

export const DEFAULT_MAX_ATTEMPTS = 5;

export function redecide(reason: string, maxAttempts = DEFAULT_MAX_ATTEMPTS): RetryPolicy {
  return { onConflict: 'redecide', maxAttempts, reason };
}

export function rejectOnConflict(
  reason: string,
  rejection: (streamId: string) => DomainRejection,
): RetryPolicy {
  return { onConflict: 'reject', reason, rejection };
}

export interface ExecuteCommandOptions<S, E extends DomainEvent> {
  readonly store: EventStreamStore;
  readonly clock: Clock;
  /** A fresh, empty aggregate of the stream the command targets (called once per attempt). */
  readonly aggregate: () => EventSourcedAggregate<S, E>;
  readonly command: { readonly type: string; readonly meta: CommandMeta; readonly props?: object };
  readonly retry: RetryPolicy;
  /** States this process last saw per stream: a hit saves reading the stream (see StreamCache). */
  readonly cache?: StreamCache;
  /** Decides on the freshly loaded state. Runs again on every retry, so it may read other streams. */
  decide(state: S, context: DecideContext): Decision<E> | Promise<Decision<E>>;
}

export async function executeCommand<S, E extends DomainEvent>(
  options: ExecuteCommandOptions<S, E>,
): Promise<CommandOutcome> {
  const { store, command, retry } = options;
  const streamId = options.aggregate().streamId;
  const { commandId, expectedVersion, correlationId, causationId } = command.meta;
  // One "now" per command, so a retry decides with the time the command arrived.
  const context: DecideContext = { now: options.clock.now() };
  const maxAttempts =
    retry.onConflict === 'redecide' && expectedVersion === undefined ? retry.maxAttempts : 1;

  const cache = options.cache;
  /** The earlier outcome of this command id, read from the stream (the rare, redelivered path). */
  const earlierOutcome = async (): Promise<CommandOutcome> => {
    const stored = await store.readStream(streamId);
    const earlier = commandId === undefined ? [] : eventsOfCommand(stored, commandId);
    return { streamId, version: versionOf(stored), events: earlier, duplicate: true };
  };

  let useCache = true;
  for (let attempt = 1; ;) {
    // A cached state is tried first, once; a conflict then means the cache was stale, not a race.
    const cached = useCache ? cache?.get(streamId) : undefined;
    useCache = false;
    let aggregate: EventSourcedAggregate<S, E>;
    if (cached) {
      aggregate = options.aggregate().restore(cached.state as S, cached.version);
    } else {
      const stored = await store.readStream(streamId);
      if (commandId !== undefined) {
        const earlier = eventsOfCommand(stored, commandId);
        if (earlier.length > 0) {
          return { streamId, version: versionOf(stored), events: earlier, duplicate: true };
        }
      }
      aggregate = options.aggregate().loadFromStream(stored);
    }
    if (expectedVersion !== undefined && aggregate.version !== BigInt(expectedVersion)) {
      if (cached) {
        cache?.delete(streamId);
        continue; // reload once, not counted as an attempt
      }
      throw staleVersion(streamId, expectedVersion, aggregate.version);
    }

    const events = aggregate.record(await options.decide(aggregate.state, context));
    if (events.length === 0) {
      cache?.set(streamId, { version: aggregate.version, state: aggregate.state });
      return { streamId, version: Number(aggregate.version), events: [], duplicate: false };
    }

    // The device an event concerns is its partition key on the event transport (device events stay in order).
    const deviceId = (command.props as { deviceId?: unknown }).deviceId;
    const actor = command.meta.actor;
    const metadata: JsonObject = {
      command: command.type,
      ...(typeof deviceId === 'string' ? { deviceId } : {}),
      ...(actor ? { actor: toJsonObject(actor, 'meta.actor') } : {}),
    };
    const toStore = aggregate.getUncommittedEvents().map((event, i) => ({
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: toJsonObject(event.data, `${event.type}.data`),
      metadata,
      ...(commandId !== undefined ? { messageId: `${commandId}:${i}` } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
      ...(causationId !== undefined || commandId !== undefined
        ? { causationId: causationId ?? commandId }
        : {}),
    }));

    try {
      const result = await store.append(
        streamId,
        aggregate.version === 0n ? 'no-stream' : aggregate.version,
        toStore,
      );
      if (result.duplicate) {
        // This command id was applied before (on a state the cache did not show): its first outcome.
        cache?.delete(streamId);
        return earlierOutcome();
      }
      aggregate.markPersisted(result.nextExpectedVersion);
      cache?.set(streamId, { version: result.nextExpectedVersion, state: aggregate.state });
      return {
        streamId,
        version: Number(result.nextExpectedVersion),
        events: [...events],
        duplicate: false,
      };
    } catch (error) {
      cache?.delete(streamId);
      if (isDuplicateMessageId(error)) return earlierOutcome();
      if (!isWrongExpectedVersion(error)) throw error;
      if (cached) continue; // the cache was stale: reload and decide again, whatever the retry policy
      if (expectedVersion !== undefined) throw staleVersion(streamId, expectedVersion, null);
      if (retry.onConflict === 'reject') throw retry.rejection(streamId);
      if (attempt >= maxAttempts) {
        throw reject(
          'CONCURRENCY_CONFLICT',
          `Stream ${streamId} kept changing while ${command.type} was decided (${attempt} attempts); try again`,
          { streamId, attempts: attempt },
        );
      }
      attempt++;
      // Someone else appended first: spread the retries a little and decide again on the new state.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

function eventsOfCommand(stored: readonly StoredEvent[], commandId: string): DomainEvent[] {
  const prefix = `${commandId}:`;
  return stored
    .filter((e) => e.messageId.startsWith(prefix))
    .map((e) => ({ type: e.type, schemaVersion: e.schemaVersion, data: e.data }));
}

function versionOf(stored: readonly StoredEvent[]): number {
  return stored.length === 0 ? 0 : Number(stored[stored.length - 1].streamPosition);
}

function staleVersion(streamId: string, expected: number, actual: bigint | null): DomainRejection {
  return reject(
    'CONCURRENCY_CONFLICT',
    actual === null
      ? `Stream ${streamId} moved past version ${expected} while the command was decided`
      : `Stream ${streamId} is at version ${actual}, not at the expected version ${expected}`,
    { streamId, expectedVersion: expected, ...(actual !== null ? { actualVersion: Number(actual) } : {}) },
  );
}
