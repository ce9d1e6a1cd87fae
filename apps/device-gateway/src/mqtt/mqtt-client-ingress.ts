import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { GATEWAY_SUBSCRIPTIONS, parseTopic, type OutboundMessage } from '@hyperfleet/contracts';
import type { DeviceIngress } from '../ingress/device-ingress';
import type { DevicePublisher } from './publisher';

const noLog = (): void => undefined;

export interface MqttClientIngressOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Connections in the shared group. */
  readonly connections: number;
  /** Unacknowledged messages per connection (MQTT 5 Receive Maximum; MQTT 3.1.1: one at a time). */
  readonly inflight?: number;
  readonly sharedGroup: string;
  readonly instanceId: string;
  /** 5: MQTT 5 shared subscriptions (Mosquitto, EMQX, HiveMQ). 4: MQTT 3.1.1, one plain subscription. */
  readonly protocolVersion: 4 | 5;
  readonly sessionExpirySeconds?: number;
  readonly log?: (line: string) => void;
}

/**
 * The gateway against an external broker. Every message is acknowledged (PUBACK) only once the
 * ingress resolved, i.e. its effect is durable and its reply sent: mqtt.js' customHandleAcks holds
 * the PUBACK, and persistent sessions make the broker redeliver what a crashed gateway never acked.
 * The broker's ACL binds each device to its own topics, so the topic's device id is its identity.
 */
export class MqttClientIngress implements DevicePublisher {
  private clients: MqttClient[] = [];
  /**
   * Replies and other outbound messages go through a connection of their own: a consuming
   * connection cannot receive a PUBACK while mqtt.js holds its input until our handler is done.
   */
  private publisher: MqttClient | null = null;

  constructor(
    private readonly o: MqttClientIngressOptions,
    private readonly ingress: DeviceIngress,
  ) {}

  async start(): Promise<void> {
    this.publisher = await this.connectPublisher();
    const n = this.o.protocolVersion === 5 ? Math.max(1, this.o.connections) : 1;
    this.clients = await Promise.all(Array.from({ length: n }, (_, i) => this.connectConsumer(i)));
  }

  async stop(): Promise<void> {
    const clients = this.clients;
    this.clients = [];
    // Forced: a handler still running must not hold shutdown; its message stays unacknowledged.
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await this.publisher?.endAsync().catch(() => undefined);
    this.publisher = null;
  }

  get connected(): boolean {
    return this.clients.length > 0 && this.clients.every((c) => c.connected) && !!this.publisher?.connected;
  }

  async publish(m: OutboundMessage): Promise<void> {
    if (!this.publisher) throw new Error('the gateway has no MQTT connection');
    await this.publisher.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain });
  }

  private auth(): Partial<IClientOptions> {
    return this.o.username ? { username: this.o.username, password: this.o.password } : {};
  }

  private async connectPublisher(): Promise<MqttClient> {
    const client = connect(this.o.url, {
      clientId: `${this.o.sharedGroup}-${this.o.instanceId}-out`,
      protocolVersion: this.o.protocolVersion,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.auth(),
      // mqtt.js formats a debug line per packet even when nobody listens (2–3% of the gateway's CPU).
      log: noLog,
    });
    client.on('error', (err) => this.o.log?.(`gateway MQTT publisher: ${err.message}`));
    await this.whenConnected(client);
    return client;
  }

  /** Resolves once the message's effect is durable and its reply sent (or lost: see below). */
  private handle(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const parsed = parseTopic(topic);
    return this.ingress
      .handle({ topic, payload, authenticatedDeviceId: parsed.ok ? parsed.deviceId : '', retained })
      .then((result) => (result.reply ? this.publish(result.reply) : undefined))
      .catch((err: Error) => {
        // The effect is durable (the ingress never throws); only the reply was lost. The agent
        // re-publishes after its reply timeout and gets the remembered reply.
        this.o.log?.(`gateway: reply to ${topic} not sent: ${err.message}`);
      });
  }

  private async connectConsumer(i: number): Promise<MqttClient> {
    const shared = this.o.protocolVersion === 5;
    const inflight = Math.min(65_535, Math.max(1, this.o.inflight ?? 1));
    const client = connect(this.o.url, {
      clientId: `${this.o.sharedGroup}-${this.o.instanceId}-${i}`,
      protocolVersion: this.o.protocolVersion,
      clean: false,
      // mqtt.js reads a PINGRESP only after the messages queued before it: a backlog (a birth storm)
      // must not look like a dead broker.
      keepalive: 300,
      ...(shared
        ? {
            properties: {
              sessionExpiryInterval: this.o.sessionExpirySeconds ?? 24 * 3600,
              receiveMaximum: inflight,
            },
          }
        : {}),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.auth(),
      log: noLog,
      customHandleAcks: (topic, message, packet, done) => {
        const handled = this.handle(topic, message, packet.retain);
        if (!acks) return void handled.then(() => done(0));
        acks.received(packet.messageId!, handled);
        done(0);
      },
    });
    const acks = shared && inflight > 1 ? new OrderedAcks(client) : null;
    client.on('error', (err) => this.o.log?.(`gateway MQTT connection ${i}: ${err.message}`));
    await this.whenConnected(client);
    const filters = GATEWAY_SUBSCRIPTIONS.map((f) => (shared ? `$share/${this.o.sharedGroup}/${f}` : f));
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    const refused = granted.filter((g) => g.qos > 2);
    if (refused.length) {
      throw new Error(
        `the broker refused the gateway's subscriptions: ${refused.map((g) => g.topic).join(', ')}`,
      );
    }
    return client;
  }

  private whenConnected(client: MqttClient): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`MQTT broker at ${this.o.url} did not answer within 10 s`)),
        10_000,
      );
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void) => void;
/** mqtt.js internals (5.x) this relies on; the gateway's Mosquitto tests exercise them. */
interface PacketClient {
  _sendPacket: SendPacket;
  _writePacket: (packet: unknown, cb?: (err?: Error) => void) => void;
  readonly connected: boolean;
}

/**
 * Lets one connection take its next message before the last is durable, while each PUBACK still
 * waits for its message's effect and they leave in the order the messages came (MQTT 5, 4.6).
 * mqtt.js reads a connection's input only after the previous message's PUBACK was handed to it, so
 * the PUBACK it sends is taken aside, the input moves on, and the PUBACK is written later. A PUBACK
 * due on a connection that has since dropped is never sent: after the reconnect the broker resends
 * the message (persistent session), and the ingress answers the duplicate from its dedupe.
 */
class OrderedAcks {
  private readonly waiting = new Map<number, Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private connection = 0;

  constructor(private readonly client: MqttClient) {
    const c = client as unknown as PacketClient;
    const send = c._sendPacket.bind(c);
    c._sendPacket = (packet, cb) => {
      const handled = packet.cmd === 'puback' ? this.waiting.get(packet.messageId!) : undefined;
      if (!handled) return send(packet, cb);
      this.waiting.delete(packet.messageId!);
      const at = this.connection;
      this.chain = this.chain
        .then(() => handled)
        .then(() => {
          if (at === this.connection && c.connected) c._writePacket(packet);
        });
      cb?.();
    };
    client.on('close', () => {
      this.connection++;
      this.waiting.clear();
    });
  }

  received(messageId: number, handled: Promise<void>): void {
    this.waiting.set(messageId, handled);
  }
}
