import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  Reply,
  checkSequence,
  decodeDeviceMessage,
  encodeReply,
  type DecodedDeviceMessage,
  type OutboundMessage,
} from '@hyperfleet/contracts';
import type { EventTransport } from '@hyperfleet/messaging';
import { CommandLog } from '../egress/command-log';
import { GATEWAY_OPTIONS, GATEWAY_TRANSPORT, type GatewayOptions } from '../gateway-options';
import { SessionStore } from '../sessions/session-store';
import { applyCommands, effectOf } from './effects';
import { KeyedLock } from './keyed-lock';
import { RateLimiter } from './rate-limiter';

export interface IngressInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Who the broker authenticated; with an ACL'd external broker, the topic's own device id. */
  readonly authenticatedDeviceId: string;
  /** A retained copy the broker replays on subscribe: processed, never answered. */
  readonly retained?: boolean;
}

export interface IngressResult {
  /** What to publish before acknowledging the message; null: nothing (unaddressable or a replay). */
  readonly reply: OutboundMessage | null;
  readonly status: 'accepted' | 'rejected';
  readonly code?: string;
  readonly duplicate: boolean;
}

/**
 * One device message in, one reply out (docs/protocol.md, "What the gateway does with a message").
 * Resolves only when the message's effect is durable: the MQTT adapters acknowledge after it.
 */
@Injectable()
export class DeviceIngress {
  private readonly log = new Logger('DeviceIngress');
  private readonly lock = new KeyedLock();
  private readonly limiter: RateLimiter;
  private readonly counters = { accepted: 0, rejected: 0, duplicates: 0, internalErrors: 0 };
  private readonly birthListeners: ((deviceId: string) => void)[] = [];

  constructor(
    private readonly bus: CommandBus,
    private readonly sessions: SessionStore,
    private readonly commands: CommandLog,
    @Inject(GATEWAY_TRANSPORT) private readonly transport: EventTransport,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {
    this.limiter = new RateLimiter(options.rateLimitPerSecond, options.rateLimitBurst);
  }

  /** Called after each accepted birth (a new connection epoch). */
  onBirth(listener: (deviceId: string) => void): void {
    this.birthListeners.push(listener);
  }

  stats() {
    return { ...this.counters, devicesInFlight: this.lock.size };
  }

  async handle(input: IngressInput): Promise<IngressResult> {
    const decoded = decodeDeviceMessage(input.topic, input.payload, {
      authenticatedDeviceId: input.authenticatedDeviceId,
    });
    if (!decoded.ok) {
      this.counters.rejected++;
      return {
        reply: decoded.replyTopic ? encodeReply(input.authenticatedDeviceId, decoded.reply) : null,
        status: 'rejected',
        code: decoded.code,
        duplicate: false,
      };
    }
    const { deviceId } = decoded;
    const wait = input.retained ? null : this.limiter.take(deviceId);
    if (wait !== null) {
      this.counters.rejected++;
      return this.answer(
        deviceId,
        Reply.protocol(decoded.message.msgId, 'RATE_LIMITED', { retryAfterMs: wait }, { kind: decoded.kind }),
        input.retained,
      );
    }
    try {
      const reply = await this.lock.run(deviceId, () => this.process(decoded));
      if (decoded.kind === 'birth' && reply.status === 'accepted' && !reply.duplicate) {
        for (const l of this.birthListeners) l(deviceId);
      }
      if (reply.duplicate) this.counters.duplicates++;
      else if (reply.status === 'accepted') this.counters.accepted++;
      else this.counters.rejected++;
      return this.answer(deviceId, reply, input.retained);
    } catch (err) {
      this.counters.internalErrors++;
      this.log.error(`${deviceId} ${decoded.kind} ${decoded.message.msgId}: ${(err as Error).message}`);
      return this.answer(
        deviceId,
        Reply.protocol(decoded.message.msgId, 'INTERNAL_ERROR', {}, { kind: decoded.kind }),
        input.retained,
      );
    }
  }

  private answer(deviceId: string, reply: Reply, retained?: boolean): IngressResult {
    return {
      reply: retained ? null : encodeReply(deviceId, reply),
      status: reply.status,
      code: reply.code,
      duplicate: reply.duplicate === true,
    };
  }

  private process(decoded: DecodedDeviceMessage): Promise<Reply> {
    const { deviceId, kind, message } = decoded;
    const { msgId, epoch, seq } = message;
    return this.sessions.withDevice(deviceId, msgId, async (tx) => {
      const previous = tx.previousReply;
      if (previous) return Reply.duplicate(previous, { kind });

      const verdict = checkSequence(tx.session.state, { kind, epoch, seq });
      if (!verdict.ok) {
        const reply = Reply.protocol(msgId, verdict.code, verdict.details, { kind });
        // NOT_REGISTERED is retryable and applied nothing: not remembered (docs/protocol.md).
        if (verdict.code !== 'NOT_REGISTERED')
          await tx.record({ kind, epoch, seq, reply, state: null });
        return reply;
      }

      const effect = effectOf(decoded, this.options);
      if (effect.telemetry.length) await this.transport.publish('telemetry', effect.telemetry);
      const rejection = await applyCommands(this.bus, effect);
      if (effect.commandAck) await this.commands.ack(deviceId, effect.commandAck);

      const reply = rejection
        ? Reply.fromRejection(
            msgId,
            { code: rejection.code, message: rejection.message, details: rejection.details },
            { kind },
          )
        : Reply.accepted(msgId, { kind });
      const online =
        kind === 'birth' ? true : kind === 'status' ? decoded.message.payload.state === 'online' : undefined;
      await tx.record({ kind, epoch, seq, reply, state: verdict.state, online });
      return reply;
    });
  }
}
