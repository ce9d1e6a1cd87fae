import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  Reply,
  checkSequence,
  decodeDeviceMessage,
  encodeReply,
  type CmdAckPayload,
  type DecodedDeviceMessage,
  type OutboundMessage,
  type SequenceState,
} from '@hyperfleet/contracts';
import type { EventTransport, TransportRecord } from '@hyperfleet/messaging';
import { forEachLimited } from '@hyperfleet/platform';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { GATEWAY_OPTIONS, GATEWAY_TRANSPORT, type GatewayOptions } from '../gateway-options';
import {
  SessionStore,
  type BatchFinalState,
  type BatchTransaction,
  type BatchVerdict,
} from '../sessions/session-store';
import { applyCommands, effectOf, type Effect } from './effects';
import { RateLimiter } from './rate-limiter';

export interface IngressInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Who the broker authenticated; with an ACL'd external broker, the topic's own device id. */
  readonly authenticatedDeviceId: string;
  /** A retained copy the broker replays on subscribe: processed, never answered. */
  readonly retained?: boolean;
}

interface Pending {
  readonly decoded: DecodedDeviceMessage;
  readonly queuedAt: number;
  resolve(reply: Reply): void;
  reject(err: unknown): void;
}

/** How stale a device's last-seen time may get: far below the heartbeat timeout. */
const touchIntervalMs = (heartbeatTimeoutMs: number) => Math.min(5000, heartbeatTimeoutMs / 10);
/** Messages decided in one transaction at most. */
const MAX_BATCH = 128;
/**
 * While other batches are in flight, a new one waits for this many messages, or until its oldest has
 * waited LINGER_MS: a batch's cost is mostly per batch (statements, round trips, a commit), and
 * under load a slot frees long before the queue has refilled. Idle, a message goes at once.
 */
const FULL_BATCH = 64;
const LINGER_MS = 5;
/** Devices whose commands run at once within a batch (each holds a shared-pool connection per statement). */
const COMMAND_CONCURRENCY = 8;

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
  private readonly queue: Pending[] = [];
  private readonly busy = new Set<string>();
  private batchesInFlight = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** When each device's last-seen time was last written. */
  private readonly touched = new Map<string, number>();
  private readonly limiter: RateLimiter;
  private readonly counters = { accepted: 0, rejected: 0, duplicates: 0, internalErrors: 0 };
  private readonly birthListeners: ((deviceId: string) => void)[] = [];

  constructor(
    private readonly bus: CommandBus,
    private readonly sessions: SessionStore,
    private readonly commands: DeviceCommandStore,
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
    return { ...this.counters, devicesInFlight: this.busy.size, queued: this.queue.length };
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
      const reply = await this.enqueue(decoded);
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

  private enqueue(decoded: DecodedDeviceMessage): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.queue.push({ decoded, queuedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /**
   * Forms batches from what is waiting: a device already in a batch in flight waits for the next one
   * (with all its later messages, so its order holds); everyone else joins. Batching is what makes a
   * message cheap: one transaction, a handful of statements, for up to MAX_BATCH messages.
   */
  private pump(): void {
    while (this.batchesInFlight < this.options.deviceConcurrency && this.queue.length > 0) {
      if (this.batchesInFlight > 0 && this.queue.length < FULL_BATCH) {
        const wait = this.queue[0].queuedAt + LINGER_MS - performance.now();
        if (wait > 0) {
          this.lingerTimer ??= setTimeout(() => {
            this.lingerTimer = null;
            this.pump();
          }, wait);
          this.lingerTimer.unref();
          return;
        }
      }
      const batch: Pending[] = [];
      const held = new Set<string>();
      const ids = new Set<string>();
      for (let i = 0; i < this.queue.length && batch.length < MAX_BATCH;) {
        const p = this.queue[i];
        const { deviceId } = p.decoded;
        const key = `${deviceId}\u0000${p.decoded.message.msgId}`;
        if (held.has(deviceId) || this.busy.has(deviceId) || ids.has(key)) {
          held.add(deviceId);
          i++;
          continue;
        }
        ids.add(key);
        batch.push(p);
        this.queue.splice(i, 1);
      }
      if (batch.length === 0) return;
      const devices = new Set(batch.map((p) => p.decoded.deviceId));
      devices.forEach((d) => this.busy.add(d));
      this.batchesInFlight++;
      void this.processBatch(batch).finally(() => {
        devices.forEach((d) => this.busy.delete(d));
        this.batchesInFlight--;
        this.pump();
      });
    }
  }

  private async processBatch(batch: readonly Pending[]): Promise<void> {
    try {
      const replies = await this.sessions.withDevices(
        batch.map((p) => ({ deviceId: p.decoded.deviceId, msgId: p.decoded.message.msgId })),
        (tx) => this.decideBatch(batch, tx),
      );
      batch.forEach((p, i) => p.resolve(replies[i]));
    } catch (err) {
      batch.forEach((p) => p.reject(err));
    }
  }

  /**
   * A cmd-ack against the command's status: an id the backend never sent to this device is not
   * believed (UNKNOWN_COMMAND); one for a command already final is recorded and changes nothing
   * (COMMAND_ALREADY_FINAL, accepted: the agent must not retry it).
   */
  private async applyAck(deviceId: string, msgId: string, ack: CmdAckPayload): Promise<Reply> {
    const kind = 'cmd-ack';
    const result = await this.commands.ack(deviceId, ack);
    if (result === 'unknown-command') {
      return Reply.protocol(msgId, 'UNKNOWN_COMMAND', { commandId: ack.commandId }, { kind });
    }
    if (result === 'late') {
      const status = (await this.commands.get(ack.commandId))?.status ?? 'final';
      return Reply.protocol(msgId, 'COMMAND_ALREADY_FINAL', { commandId: ack.commandId, status }, { kind });
    }
    return Reply.accepted(msgId, { kind });
  }

  private async decideBatch(batch: readonly Pending[], tx: BatchTransaction): Promise<Reply[]> {
    const replies: Reply[] = new Array(batch.length);
    const verdicts: BatchVerdict[] = [];
    const byDevice = new Map<string, { index: number; effect: Effect; decoded: DecodedDeviceMessage }[]>();
    const finals = new Map<string, { state: SequenceState | null; online?: boolean; changed: boolean }>();
    const telemetry: TransportRecord[] = [];

    // 1. The protocol's verdicts, device by device in arrival order, on the state each leaves.
    const states = new Map<string, SequenceState | null>();
    batch.forEach((p, index) => {
      const { deviceId, kind, message } = p.decoded;
      const { msgId, epoch, seq } = message;
      const previous = tx.previousReply(deviceId, msgId);
      if (previous) {
        replies[index] = Reply.duplicate(previous, { kind });
        return;
      }
      const state = states.has(deviceId) ? states.get(deviceId)! : tx.session(deviceId).state;
      const verdict = checkSequence(state, { kind, epoch, seq });
      if (!verdict.ok) {
        const reply = Reply.protocol(msgId, verdict.code, verdict.details, { kind });
        replies[index] = reply;
        // NOT_REGISTERED is retryable and applied nothing: not remembered (docs/protocol.md).
        if (verdict.code !== 'NOT_REGISTERED') {
          verdicts.push({ deviceId, msgId, kind, epoch, seq, reply });
          if (!finals.has(deviceId)) finals.set(deviceId, { state: null, changed: false });
        }
        return;
      }
      states.set(deviceId, verdict.state);
      const effect = effectOf(p.decoded, this.options);
      telemetry.push(...effect.telemetry);
      const list = byDevice.get(deviceId) ?? [];
      list.push({ index, effect, decoded: p.decoded });
      byDevice.set(deviceId, list);
      const online =
        kind === 'birth'
          ? true
          : kind === 'status'
            ? p.decoded.message.payload.state === 'online'
            : undefined;
      const before = finals.get(deviceId);
      finals.set(deviceId, {
        state: verdict.state,
        online: online ?? before?.online,
        changed: Boolean(before?.changed) || verdict.state !== state || online !== undefined,
      });
    });

    // 2. Telemetry commits with the batch into hf.telemetry_log on every transport (one commit; a
    // redelivery never writes a second copy); on Kafka the telemetry relay publishes it from there,
    // so ingest never waits for the broker. (The direct publish is for a store without the log.)
    if (telemetry.length) {
      if (tx.publishTelemetry) await tx.publishTelemetry(telemetry);
      else await this.transport.publish('telemetry', telemetry);
    }

    // 3. Domain commands: one device's in order, several devices at once.
    await forEachLimited([...byDevice.values()], COMMAND_CONCURRENCY, async (work) => {
      for (const { index, effect, decoded } of work) {
        const { deviceId, kind, message } = decoded;
        const rejection = await applyCommands(this.bus, effect);
        const reply = rejection
          ? Reply.fromRejection(
              message.msgId,
              { code: rejection.code, message: rejection.message, details: rejection.details },
              { kind },
            )
          : effect.commandAck
            ? await this.applyAck(deviceId, message.msgId, effect.commandAck)
            : Reply.accepted(message.msgId, { kind });
        replies[index] = reply;
        verdicts.push({
          deviceId,
          msgId: message.msgId,
          kind,
          epoch: message.epoch,
          seq: message.seq,
          reply,
        });
      }
    });

    // 4. Every verdict and each device's final state, in one statement; the commit makes them durable.
    if (verdicts.length) {
      // The silence sweeper needs a device's last-seen time to a few seconds only: refreshing it every
      // few seconds (or when connectivity changes) keeps most session updates off its index (HOT).
      const now = Date.now();
      const interval = touchIntervalMs(this.options.heartbeatTimeoutMs);
      const updates: BatchFinalState[] = [];
      for (const [deviceId, f] of finals) {
        const touch = f.online !== undefined || now - (this.touched.get(deviceId) ?? 0) >= interval;
        if (touch) this.touched.set(deviceId, now);
        if (f.changed || touch) updates.push({ deviceId, state: f.state, online: f.online, touch });
      }
      await tx.record(verdicts, updates);
    }
    return replies;
  }
}
