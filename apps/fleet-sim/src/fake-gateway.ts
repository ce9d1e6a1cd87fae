import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type MqttClient } from 'mqtt';
import { noDelay } from './sim-device';
import {
  GATEWAY_SUBSCRIPTIONS,
  Reply,
  buildCommand,
  checkSequence,
  clearDesired,
  decodeDeviceMessage,
  encodeCommand,
  encodeDesired,
  encodeReply,
  parseJsonPayload,
  replyTopic,
  type CommandInputMap,
  type CommandName,
  type DecodedDeviceMessage,
  type DesiredStateInput,
  type DeviceMessageKind,
  type SequenceState,
} from '@hyperfleet/contracts';

/**
 * A stand-in for the device gateway, for the simulator's own tests and for measuring the simulator
 * alone: it subscribes like the gateway (`hf/v1/+/<kind>` per device kind) and answers every message.
 * It is not the gateway: no persistence, no domain, no authentication.
 *
 * Modes:
 * - `decode: true` (default): runs `decodeDeviceMessage` and answers rejections with their reply;
 * - `sequence: true`: also dedupes by msgId and applies `checkSequence` per device (in memory);
 * - `decode: false`: reads only the msgId and accepts (the cheapest possible gateway, for load tests).
 * A `respond` hook can replace the answer (or return null to stay silent, e.g. to test timeouts).
 */

export interface ReceivedMessage {
  topic: string;
  deviceId: string;
  kind: DeviceMessageKind | string;
  /** The decoded message (decode mode), or the parsed JSON. */
  message: Record<string, unknown> | undefined;
  /** The bytes as published. */
  payload: Buffer;
  retained: boolean;
  receivedAt: number;
}

export interface FakeGatewayOptions {
  mqttUrl: string;
  clientId?: string;
  decode?: boolean;
  sequence?: boolean;
  /** Keep every received message in `received` (tests); off for load tests. */
  record?: boolean;
  /** `$share/<group>/…` subscriptions, to run several fake gateways side by side. */
  shareGroup?: string;
  /**
   * Only these devices are answered (and recorded); default all. On a shared broker, keep a test's gateway
   * to the test's devices.
   */
  devices?: (deviceId: string) => boolean;
  /** Decide the reply; undefined: the default answer; null: no reply. */
  respond?: (m: ReceivedMessage, defaultReply: Reply) => Reply | null | undefined;
}

export class FakeGateway extends EventEmitter {
  readonly received: ReceivedMessage[] = [];
  readonly sequences = new Map<string, SequenceState>();
  /** Sequence mode: the reply to every msgId that reached the rule, for dedupe. */
  private readonly answered = new Map<string, Reply>();
  replies = 0;
  private client: MqttClient | undefined;

  constructor(private readonly options: FakeGatewayOptions) {
    super();
  }

  async start(): Promise<void> {
    const client = connect(this.options.mqttUrl, {
      clientId: this.options.clientId ?? `fake-gateway-${randomUUID().slice(0, 8)}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 1000,
    });
    noDelay(client);
    this.client = client;
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const share = this.options.shareGroup ? `$share/${this.options.shareGroup}/` : '';
    await client.subscribeAsync(
      Object.fromEntries(GATEWAY_SUBSCRIPTIONS.map((t) => [`${share}${t}`, { qos: 1 as const }])),
    );
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
    this.client = undefined;
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    // A zero-length retained publish clears a retained message: nothing to answer.
    if (payload.length === 0) return;
    const parts = topic.split('/');
    const deviceId = parts[2] ?? '';
    const kind = parts[3] ?? '';
    if (this.options.devices && !this.options.devices(deviceId)) return;
    const decode = this.options.decode ?? true;
    let reply: Reply | undefined;
    let message: Record<string, unknown> | undefined;
    if (decode) {
      const d = decodeDeviceMessage(topic, payload, { authenticatedDeviceId: deviceId });
      if (d.ok) {
        message = d.message as unknown as Record<string, unknown>;
        reply = this.options.sequence ? this.sequenceVerdict(d) : Reply.accepted(d.message.msgId, { kind });
      } else {
        reply = d.reply;
      }
    } else {
      const json = parseJsonPayload(payload);
      message =
        json.ok && typeof json.value === 'object' && json.value !== null
          ? (json.value as Record<string, unknown>)
          : undefined;
      const msgId = typeof message?.['msgId'] === 'string' ? (message['msgId'] as string) : null;
      reply = msgId
        ? Reply.accepted(msgId, { kind })
        : Reply.rejected(null, 'MALFORMED_JSON', 'unreadable', { kind });
    }
    const received: ReceivedMessage = {
      topic,
      deviceId,
      kind,
      message,
      payload,
      retained,
      receivedAt: Date.now(),
    };
    if (this.options.record) this.received.push(received);
    this.emit('message', received);
    // Retained copies replayed on subscribe are not answered (the agent got its answer when it published).
    if (retained) return;
    const custom = this.options.respond?.(received, reply);
    if (custom === null) return;
    this.reply(deviceId, custom ?? reply);
  }

  private sequenceVerdict(d: DecodedDeviceMessage): Reply {
    const { msgId, epoch, seq } = d.message;
    // Dedupe first, as the gateway does: a re-publication gets the first answer again.
    const first = this.answered.get(msgId);
    if (first) return Reply.duplicate(first, { kind: d.kind });
    const reply = this.sequenceRule(d, msgId, epoch, seq);
    if (!Reply.isRetryable(reply)) {
      this.answered.set(msgId, reply);
      if (this.answered.size > 100_000) this.answered.delete(this.answered.keys().next().value!);
    }
    return reply;
  }

  private sequenceRule(d: DecodedDeviceMessage, msgId: string, epoch: number, seq: number): Reply {
    const verdict = checkSequence(this.sequences.get(d.deviceId) ?? null, { kind: d.kind, epoch, seq });
    if (verdict.ok) {
      this.sequences.set(d.deviceId, verdict.state);
      return Reply.accepted(msgId, { kind: d.kind });
    }
    return Reply.protocol(msgId, verdict.code, verdict.details as never, { kind: d.kind });
  }

  /** Publishes a reply to a device. */
  reply(deviceId: string, reply: Reply): void {
    if (!this.client || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(deviceId)) return;
    const out = encodeReply(deviceId, reply);
    this.client.publish(out.topic, out.payload, { qos: out.qos, retain: out.retain });
    this.replies++;
  }

  /** Publishes a command; returns its id. */
  async command<K extends CommandName>(
    deviceId: string,
    name: K,
    args: CommandInputMap[K]['args'],
    options: { commandId?: string; timeoutMs?: number; issuedAt?: Date } = {},
  ): Promise<string> {
    const commandId = options.commandId ?? randomUUID();
    const message = buildCommand(name, args as never, {
      commandId,
      issuedAt: options.issuedAt ?? new Date(),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    const out = encodeCommand(deviceId, name, message);
    await this.client!.publishAsync(out.topic, out.payload, { qos: out.qos, retain: out.retain });
    return commandId;
  }

  /** Publishes the retained desired-state document. */
  async desired(deviceId: string, desired: DesiredStateInput): Promise<void> {
    const out = encodeDesired(deviceId, desired);
    await this.client!.publishAsync(out.topic, out.payload, { qos: out.qos, retain: out.retain });
  }

  /** Clears the retained desired state (and, for tidiness, the retained status) of a device. */
  async clear(deviceId: string): Promise<void> {
    const out = clearDesired(deviceId);
    await this.client!.publishAsync(out.topic, out.payload, { qos: out.qos, retain: true });
    await this.client!.publishAsync(`hf/v1/${deviceId}/status`, Buffer.alloc(0), { qos: 1, retain: true });
  }

  /** Messages received from one device (record mode), optionally of one kind. */
  from(deviceId: string, kind?: string): ReceivedMessage[] {
    return this.received.filter((m) => m.deviceId === deviceId && (kind === undefined || m.kind === kind));
  }

  replyTopicOf(deviceId: string): string {
    return replyTopic(deviceId);
  }
}

/**
 * Removes what simulated devices leave on a broker: their persistent sessions (a CONNECT with clean
 * session discards the stored one) and their retained status and desired state. For tests and runs
 * against a shared broker; `concurrency` connections at a time.
 */
export async function purgeDevices(
  mqttUrl: string,
  deviceIds: readonly string[],
  options: { concurrency?: number; retained?: boolean } = {},
): Promise<void> {
  const concurrency = options.concurrency ?? 50;
  const queue = [...deviceIds];
  const admin =
    options.retained === false ? undefined : await connectAsync(mqttUrl, `purge-${randomUUID().slice(0, 8)}`);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const c = await connectAsync(mqttUrl, id, true).catch(() => undefined);
      await c?.endAsync();
      if (admin) {
        await admin.publishAsync(`hf/v1/${id}/status`, Buffer.alloc(0), { qos: 1, retain: true });
        await admin.publishAsync(`hf/v1/${id}/desired`, Buffer.alloc(0), { qos: 1, retain: true });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  await admin?.endAsync();
}

function connectAsync(mqttUrl: string, clientId: string, clean = true): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect(mqttUrl, {
      clientId,
      clean,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => {
      c.end(true);
      reject(e);
    });
  });
}
