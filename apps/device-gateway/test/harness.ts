/**
 * Test harness: the device gateway in a real Nest application over a real test database, with
 * either the embedded aedes broker or an external MQTT broker; and raw test agents that speak the
 * protocol (or deliberately break it) over their own mqtt.js connections.
 */
import { randomUUID } from 'node:crypto';
import { INestApplicationContext, type ModuleMetadata } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { connect, type MqttClient } from 'mqtt';
import {
  PROTOCOL_VERSION,
  encodeDeviceMessage,
  exampleDeviceMessages,
  agentSubscriptions,
  lastWill,
  replyTopic,
  type DeviceMessageInputMap,
  type DeviceMessageKind,
  type Reply,
} from '@hyperfleet/contracts';
import { DomainModule, ProvisionDevice } from '@hyperfleet/domain';
import { CommandBus } from '@nestjs/cqrs';
import {
  EVENT_STORE,
  PlatformModule,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import { createTestDatabase, freePort, type TestDatabase } from '@hyperfleet/testing';
import type { PostgresEventStore } from '@hyperfleet/event-store';
import { DeviceGatewayModule } from '../src/device-gateway.module';
import type { GatewayOptions } from '../src/gateway-options';
import { DeviceCredentialStore } from '../src/identity';

export interface Harness {
  readonly app: INestApplicationContext;
  readonly infra: RuntimeInfrastructure;
  readonly db: TestDatabase;
  readonly mqttUrl: string;
  readonly store: PostgresEventStore;
  /** Provisions the device and issues its MQTT credential (the password). */
  provision(deviceId: string): Promise<string>;
  /** A connected agent for a provisioned device, logged in with its credential. */
  agent(deviceId: string, opts?: AgentOptions): Promise<TestAgent>;
  close(): Promise<void>;
}

export async function startGateway(
  opts: {
    mqttUrl?: string;
    db?: TestDatabase;
    gateway?: Partial<GatewayOptions>;
    /** More environment (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, …). */
    env?: Record<string, string>;
    /** More modules of the application (the projector, the API). */
    imports?: ModuleMetadata['imports'];
  } = {},
): Promise<Harness> {
  const db = opts.db ?? (await createTestDatabase('hf_gw'));
  const env: Record<string, string> = { DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...opts.env };
  if (opts.mqttUrl) env.MQTT_URL = opts.mqttUrl;
  else env.EMBEDDED_MQTT_PORT = String(await freePort());
  const config = loadConfig(env);
  const infra = await startInfrastructure(config, { needsMqtt: true });
  const moduleRef = await Test.createTestingModule({
    imports: [
      PlatformModule.forRoot(infra),
      CqrsModule.forRoot(),
      DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
      // A fresh shared group and session per run: the shared test broker keeps old sessions' messages.
      DeviceGatewayModule.forRoot({
        heartbeatTimeoutMs: 60_000,
        sharedGroup: `hf-test-${randomUUID().slice(0, 8)}`,
        instanceId: 'gw-test',
        sessionExpirySeconds: 120,
        ...opts.gateway,
      }),
      ...(opts.imports ?? []),
    ],
  }).compile();
  const app = await moduleRef.init();
  const bus = app.get(CommandBus);
  const credentials = app.get(DeviceCredentialStore);
  const passwords = new Map<string, string>();
  return {
    app,
    infra,
    db,
    mqttUrl: infra.mqttUrl,
    store: app.get(EVENT_STORE),
    provision: async (deviceId) => {
      await bus.execute(
        new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'test-site', tags: [] }),
      );
      const { password } = await credentials.issue(deviceId);
      passwords.set(deviceId, password);
      return password;
    },
    agent: (deviceId, agentOpts = {}) =>
      TestAgent.connect(infra.mqttUrl, deviceId, {
        username: deviceId,
        password: passwords.get(deviceId),
        ...agentOpts,
      }),
    close: async () => {
      await app.close();
      await infra.stop();
      if (!opts.db) await db.drop();
    },
  };
}

export interface AgentOptions {
  epoch?: number;
  clientId?: string;
  username?: string;
  password?: string;
  will?: boolean;
}

/** A hand-driven agent: valid messages by default, anything else on purpose. */
export class TestAgent {
  readonly replies: Reply[] = [];
  /** Backend messages other than replies (desired state, commands), with their topic and retain flag. */
  readonly received: { topic: string; retain: boolean; body: Record<string, unknown> }[] = [];
  private seq = 0;
  private waiters: { msgId: string | null; count: number; resolve: (r: Reply) => void }[] = [];

  private constructor(
    readonly deviceId: string,
    readonly client: MqttClient,
    public epoch: number,
  ) {
    client.on('message', (topic, payload, packet) => {
      if (topic !== replyTopic(deviceId)) {
        this.received.push({
          topic,
          retain: packet.retain,
          body: payload.length ? JSON.parse(payload.toString()) : {},
        });
        return;
      }
      const reply = JSON.parse(payload.toString()) as Reply;
      this.replies.push(reply);
      for (const w of [...this.waiters]) {
        const matches = this.replies.filter((r) => w.msgId === null || r.inReplyTo === w.msgId);
        if (matches.length >= w.count) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(matches[w.count - 1]);
        }
      }
    });
  }

  static async connect(url: string, deviceId: string, opts: AgentOptions = {}): Promise<TestAgent> {
    const epoch = opts.epoch ?? 1;
    const will = opts.will
      ? lastWill(deviceId, { msgId: randomUUID(), epoch, sentAt: new Date().toISOString() })
      : undefined;
    const client = connect(url, {
      clientId: opts.clientId ?? deviceId,
      clean: true,
      reconnectPeriod: 0,
      ...(will
        ? { will: { topic: will.topic, payload: will.payload, qos: 1 as const, retain: will.retain } }
        : {}),
      ...(opts.username ? { username: opts.username, password: opts.password } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', (err) => {
        client.end(true);
        reject(err);
      });
    });
    await client.subscribeAsync(agentSubscriptions(deviceId), { qos: 1 });
    return new TestAgent(deviceId, client, epoch);
  }

  /** A valid message of `kind` with the next seq (birth: seq 0), from the contracts' examples. */
  message<K extends DeviceMessageKind>(
    kind: K,
    patch: Partial<DeviceMessageInputMap[K]> = {},
  ): DeviceMessageInputMap[K] {
    const base = exampleDeviceMessages()[kind];
    const seq = kind === 'birth' ? 0 : ++this.seq;
    return {
      ...base,
      protocolVersion: PROTOCOL_VERSION,
      msgId: randomUUID(),
      epoch: this.epoch,
      seq,
      sentAt: new Date().toISOString(),
      ...patch,
    } as DeviceMessageInputMap[K];
  }

  async send<K extends DeviceMessageKind>(kind: K, message: DeviceMessageInputMap[K]): Promise<Reply> {
    const out = encodeDeviceMessage(this.deviceId, kind, message);
    const reply = this.waitReply(message.msgId);
    await this.client.publishAsync(out.topic, out.payload, { qos: 1 });
    return reply;
  }

  /** Publishes raw bytes on a raw topic; resolves with the next reply that arrives. */
  async sendRaw(topic: string, payload: Buffer | string, msgId: string | null = null): Promise<Reply> {
    const reply = this.waitReply(
      msgId,
      this.replies.filter((r) => msgId === null || r.inReplyTo === msgId).length + 1,
    );
    await this.client.publishAsync(topic, payload, { qos: 1 });
    return reply;
  }

  waitReply(msgId: string | null, count = 1, timeoutMs = 15_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.deviceId}: no reply to ${msgId} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const existing = this.replies.filter((r) => msgId === null || r.inReplyTo === msgId);
      if (existing.length >= count) {
        clearTimeout(t);
        return resolve(existing[count - 1]);
      }
      this.waiters.push({
        msgId,
        count,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
      });
    });
  }

  /** The example birth, re-addressed to this device (its board and VMs are the contracts' example). */
  birth(): DeviceMessageInputMap['birth'] {
    this.seq = 0;
    return this.message('birth');
  }

  async waitFor(
    what: string,
    match: (m: { topic: string; retain: boolean; body: Record<string, unknown> }) => boolean,
    timeoutMs = 15_000,
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`${this.deviceId}: no ${what} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Drops the TCP connection without DISCONNECT: the broker publishes the will. */
  dropConnection(): void {
    this.client.stream.destroy();
    this.client.end(true);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

export const uniqueId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
