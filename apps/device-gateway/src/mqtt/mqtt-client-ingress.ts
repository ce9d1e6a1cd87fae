import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { GATEWAY_SUBSCRIPTIONS, parseTopic, type OutboundMessage } from '@hyperfleet/contracts';
import type { DeviceIngress } from '../ingress/device-ingress';
import type { DevicePublisher } from './publisher';

export interface MqttClientIngressOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Connections in the shared group: each processes its messages one at a time (mqtt.js acks in order). */
  readonly connections: number;
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
    });
    client.on('error', (err) => this.o.log?.(`gateway MQTT publisher: ${err.message}`));
    await this.whenConnected(client);
    return client;
  }

  private async connectConsumer(i: number): Promise<MqttClient> {
    const shared = this.o.protocolVersion === 5;
    const client = connect(this.o.url, {
      clientId: `${this.o.sharedGroup}-${this.o.instanceId}-${i}`,
      protocolVersion: this.o.protocolVersion,
      clean: false,
      // mqtt.js reads a PINGRESP only after the messages queued before it: a backlog (a birth storm)
      // must not look like a dead broker.
      keepalive: 300,
      ...(shared ? { properties: { sessionExpiryInterval: this.o.sessionExpirySeconds ?? 24 * 3600 } } : {}),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.auth(),
      customHandleAcks: (topic, message, packet, done) => {
        const parsed = parseTopic(topic);
        this.ingress
          .handle({
            topic,
            payload: message,
            authenticatedDeviceId: parsed.ok ? parsed.deviceId : '',
            retained: packet.retain,
          })
          .then((result) => (result.reply ? this.publish(result.reply) : undefined))
          .then(
            () => done(0),
            (err: Error) => {
              // The effect is durable (the ingress never throws); only the reply was lost. The agent
              // re-publishes after its reply timeout and gets the remembered reply.
              this.o.log?.(`gateway: reply to ${topic} not sent: ${err.message}`);
              done(0);
            },
          );
      },
    });
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
