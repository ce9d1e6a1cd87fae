/** Errors the event store raises on purpose. Each has a stable machine-readable `code`. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: bigint | null,
  ) {
    super(
      `Stream ${streamId}: expected version ${expected}, but it is ${actual === null ? 'absent' : `at version ${actual}`}`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

export class DuplicateMessageIdError extends EventStoreError {
  readonly code = 'DUPLICATE_MESSAGE_ID';
  constructor(
    readonly streamId: string,
    readonly messageIds: readonly string[],
  ) {
    super(
      `Stream ${streamId}: message ids ${messageIds.join(', ')} were already appended, but not as this same batch`,
    );
    this.name = 'DuplicateMessageIdError';
  }
}

export class InvalidAppendError extends EventStoreError {
  readonly code = 'INVALID_APPEND';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}

export class CheckpointConflictError extends EventStoreError {
  readonly code = 'CHECKPOINT_CONFLICT';
  constructor(readonly subscriptionId: string) {
    super(`Checkpoint of ${subscriptionId} was moved by someone else`);
    this.name = 'CheckpointConflictError';
  }
}
