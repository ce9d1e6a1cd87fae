/**
 * Commands are @nestjs/cqrs Command classes (the CommandBus routes by class) with an imperative name in
 * `type`, their fields in `props`, and transport metadata in `meta`.
 */
import { Command } from '@nestjs/cqrs';
import type { DomainEvent } from './event';

/**
 * Who caused a command: an operator's credential (API key or JWT), a device, or the system itself.
 * It rides in the metadata of every event the command appends (`metadata.actor`), which is the audit trail.
 */
export interface CommandActor {
  /** The API key's name, the JWT's `sub`, the device id, or a system component's name. */
  readonly subject: string;
  readonly credentialKind: 'api-key' | 'jwt' | 'device' | 'system';
  /** The API key id or the JWT's `jti` (or issuer + subject when it has none). */
  readonly credentialId: string;
  /** The HTTP request id (X-Request-Id) the command came with. */
  readonly requestId?: string;
}

export interface CommandMeta {
  /**
   * Idempotency key, globally unique (a UUID, or `<deviceId>/<MQTT message id>`). The events a command
   * appends get message ids `<commandId>:<n>`; running the same command again finds them in the stream
   * and returns the first outcome with `duplicate: true` instead of deciding again.
   */
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /**
   * The stream version the caller based the command on (an HTTP If-Match). When given, the command is
   * decided only at that version and never retried: a moved stream is a CONCURRENCY_CONFLICT.
   */
  readonly expectedVersion?: number;
  readonly actor?: CommandActor;
}

/** What CommandBus.execute resolves to when a command is accepted. */
export interface CommandOutcome {
  readonly streamId: string;
  /** The stream's version after the command (0: the stream does not exist). */
  readonly version: number;
  /** The events the command appended; empty when it changed nothing (an idempotent repeat). */
  readonly events: readonly DomainEvent[];
  /** True when this command id had been handled before and nothing new was written. */
  readonly duplicate: boolean;
}

export abstract class DomainCommand<
  TType extends string,
  TProps extends object,
> extends Command<CommandOutcome> {
  protected constructor(
    readonly type: TType,
    readonly props: Readonly<TProps>,
    readonly meta: CommandMeta = {},
  ) {
    super();
  }
}
