/**
 * The ingest benchmark's server process (forked by ingest.bench.ts, dist only): either the real device
 * gateway in a Nest application (like apps/device-gateway/src/main.ts), or the bare ceiling that only
 * answers. Both run on their own Node process, as a deployed gateway does, so that the simulator's
 * event loop is not theirs. Talks to the parent over IPC:
 *
 *   parent → { id, type: 'reset' | 'stats' | 'profile-start' | 'profile-stop' | 'stop', file? }
 *   child  → { type: 'ready', deviceUrl } | { id, result } | { id, error }
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { DynamicModule, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import type { Aedes, AedesPublishPacket, Client as AedesClient } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import type { Pool } from 'pg';
import { GATEWAY_SUBSCRIPTIONS, parseTopic } from '@hyperfleet/contracts';
import { DomainModule } from '@hyperfleet/domain';
import {
  EVENT_STORE,
  EmbeddedMqttBroker,
  PG_POOL,
  PlatformModule,
  createPool,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import {
  DeviceGatewayModule,
  DeviceIngress,
  SessionStore,
  type GatewayOptions,
} from '../../apps/device-gateway/src';
import { DeviceCredentialStore, installAedesAuth } from '../../apps/device-gateway/src/identity';
import { CallTimer, instrumentSql, sqlDelta, sqlSnapshot, startProfile, stopProfile } from './instrument';

export interface ServerConfig {
  role: 'gateway' | 'ceiling';
  broker: 'mosquitto' | 'aedes';
  databaseUrl: string;
  /** mosquitto: the broker's gateway listener. */
  mqttUrl?: string;
  /** aedes: the port of the in-process broker. */
  aedesPort?: number;
  gatewayUsername: string;
  gatewayPassword: string;
  /** Consumer connections in the shared subscription group (the gateway's GATEWAY_MQTT_CONNECTIONS). */
  connections: number;
}

type Request = { id: number; type: string; file?: string };

const config = JSON.parse(process.env.BENCH_INGEST_SERVER ?? '{}') as ServerConfig;
const timer = new CallTimer();
let eluMark: EventLoopUtilization = performance.eventLoopUtilization();
let sqlMark = sqlSnapshot();
interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}
/** The shared pool (PG_POOL) and the session store's own pool, sampled every 20 ms. */
const pools: { shared: PoolLike | null; session: PoolLike | null } = { shared: null, session: null };
const emptySamples = () => ({ n: 0, waiting: 0, maxWaiting: 0, inUse: 0 });
let samples = { shared: emptySamples(), session: emptySamples() };
let stopServer: () => Promise<void> = async () => undefined;

const send = (m: object) => process.send?.(m);

// A parent that dies takes us with it.
process.on('disconnect', () => process.exit(1));

setInterval(() => {
  for (const k of ['shared', 'session'] as const) {
    const p = pools[k];
    if (!p) continue;
    const s = samples[k];
    s.n++;
    s.waiting += p.waitingCount;
    s.inUse += p.totalCount - p.idleCount;
    s.maxWaiting = Math.max(s.maxWaiting, p.waitingCount);
  }
}, 20).unref();

const poolStats = (s: ReturnType<typeof emptySamples>) =>
  s.n ? { meanInUse: s.inUse / s.n, meanWaiting: s.waiting / s.n, maxWaiting: s.maxWaiting } : null;

process.on('message', (raw: Request) => {
  void handle(raw).then(
    (result) => send({ id: raw.id, result }),
    (err: Error) => send({ id: raw.id, error: err.message }),
  );
});

async function handle(r: Request): Promise<unknown> {
  switch (r.type) {
    case 'reset':
      timer.reset();
      eluMark = performance.eventLoopUtilization();
      sqlMark = sqlSnapshot();
      samples = { shared: emptySamples(), session: emptySamples() };
      return null;
    case 'stats':
      return {
        handled: timer.summary(),
        eventLoopUtilization: performance.eventLoopUtilization(eluMark).utilization,
        sql: sqlDelta(sqlMark, sqlSnapshot()),
        pool: poolStats(samples.shared),
        sessionPool: poolStats(samples.session),
        rssMb: process.memoryUsage().rss / 2 ** 20,
      };
    case 'profile-start':
      await startProfile();
      return null;
    case 'profile-stop':
      return stopProfile(r.file);
    case 'stop':
      setTimeout(() => process.exit(0), 5000).unref();
      await stopServer().catch(() => undefined);
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown request ${r.type}`);
  }
}

@Module({})
class BenchGatewayModule {
  static forRoot(infra: RuntimeInfrastructure, gateway: Partial<GatewayOptions>): DynamicModule {
    return {
      module: BenchGatewayModule,
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        DeviceGatewayModule.forRoot(gateway),
      ],
    };
  }
}

/** The real gateway: the same modules as apps/device-gateway/src/main.ts, with its default options. */
async function startGateway(): Promise<string> {
  instrumentSql();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-gw-'));
  const env: Record<string, string> = {
    DATABASE_URL: config.databaseUrl,
    HF_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  if (process.env.DB_POOL_SIZE) env.DB_POOL_SIZE = process.env.DB_POOL_SIZE;
  if (config.broker === 'mosquitto') env.MQTT_URL = config.mqttUrl!;
  else {
    env.EMBEDDED_MQTT_PORT = String(config.aedesPort);
    env.EMBEDDED_MQTT_HOST = '127.0.0.1';
  }
  const infra = await startInfrastructure(loadConfig(env), { needsMqtt: true });
  noDelayOnAccept(infra.mqtt.broker);
  let app: INestApplicationContext | null = null;
  try {
    // Timed from outside: the prototype's handle, wrapped before the adapters start.
    const original = DeviceIngress.prototype.handle;
    DeviceIngress.prototype.handle = function (this: DeviceIngress, input) {
      return timer.time(input.topic.split('/')[3] ?? '?', () => original.call(this, input));
    };
    app = await NestFactory.createApplicationContext(
      // Every phase has a fresh broker, so the gateway keeps its default persistent sessions.
      BenchGatewayModule.forRoot(infra, {
        sharedGroup: `hf-bench-${randomUUID().slice(0, 8)}`,
        instanceId: 'bench',
        mqttConnections: config.connections,
      }),
      { logger: ['error', 'warn'], abortOnError: false },
    );
    pools.shared = app.get<Pool>(PG_POOL);
    pools.session = (app.get(SessionStore) as unknown as { pool: Pool }).pool;
  } catch (err) {
    await infra.stop();
    throw err;
  }
  stopServer = async () => {
    await app?.close();
    await infra.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return config.broker === 'mosquitto' ? '' : infra.mqttUrl;
}

/**
 * The ceiling: no processing at all. Mosquitto: an mqtt.js subscriber in the same shared subscription
 * shape as the gateway (the same number of MQTT 5 connections, QoS 1, acknowledged on receipt) that
 * reads only the msgId and publishes a bare `accepted` reply, QoS 1, through a connection of its own.
 * aedes: the broker with the identity hooks, answering in authorizePublish the way the gateway does.
 */
async function startCeiling(): Promise<string> {
  const bareReply = (topic: string, payload: Buffer): { topic: string; payload: string } | null => {
    if (payload.length === 0) return null;
    const parts = topic.split('/');
    let msgId: unknown;
    try {
      msgId = (JSON.parse(payload.toString('utf8')) as { msgId?: unknown }).msgId;
    } catch {
      return null;
    }
    if (typeof msgId !== 'string') return null;
    return {
      topic: `hf/v1/${parts[2]}/reply`,
      payload: JSON.stringify({ protocolVersion: 1, inReplyTo: msgId, kind: parts[3], status: 'accepted' }),
    };
  };

  if (config.broker === 'mosquitto') {
    const options = (clientId: string) => ({
      clientId,
      protocolVersion: 5 as const,
      clean: true,
      reconnectPeriod: 1000,
      username: config.gatewayUsername,
      password: config.gatewayPassword,
    });
    const connected = (c: MqttClient) =>
      new Promise<MqttClient>((resolve, reject) => {
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
    const tag = randomUUID().slice(0, 8);
    const publisher = await connected(connect(config.mqttUrl!, options(`bench-ceiling-${tag}-out`)));
    const onMessage = (topic: string, payload: Buffer) =>
      timer.time(topic.split('/')[3] ?? '?', async () => {
        const r = bareReply(topic, payload);
        if (r) publisher.publish(r.topic, r.payload, { qos: 1 });
      });
    const consumers = await Promise.all(
      Array.from({ length: config.connections }, (_, i) =>
        connected(connect(config.mqttUrl!, options(`bench-ceiling-${tag}-${i}`))),
      ),
    );
    for (const c of consumers) {
      c.on('message', (topic, payload, packet) => {
        if (!packet.retain) void onMessage(topic, payload);
      });
      await c.subscribeAsync(
        GATEWAY_SUBSCRIPTIONS.map((f) => `$share/bench-ceiling-${tag}/${f}`),
        { qos: 1 },
      );
    }
    stopServer = async () => {
      await Promise.all([...consumers, publisher].map((c) => c.endAsync(true).catch(() => undefined)));
    };
    return '';
  }

  instrumentSql();
  const broker = new EmbeddedMqttBroker({ host: '127.0.0.1', port: config.aedesPort! });
  await broker.start();
  noDelayOnAccept(broker);
  const aedes = broker.aedes as Aedes;
  const pool = createPool(config.databaseUrl, loadConfig({ DATABASE_URL: config.databaseUrl }).dbPoolSize);
  pools.shared = pool;
  const store = new DeviceCredentialStore(pool, { reservedUsernames: [config.gatewayUsername] });
  installAedesAuth(aedes, store, {
    gateway: { username: config.gatewayUsername, password: config.gatewayPassword },
  });
  type Hook = (c: AedesClient | null, p: AedesPublishPacket, cb: (err?: Error | null) => void) => void;
  const hooks = aedes as unknown as { authorizePublish: Hook };
  const previous = hooks.authorizePublish.bind(aedes);
  const answer = (packet: AedesPublishPacket) =>
    timer.time(packet.topic.split('/')[3] ?? '?', async () => {
      const r = bareReply(packet.topic, packet.payload as Buffer);
      if (!r) return;
      aedes.publish(
        {
          cmd: 'publish',
          topic: r.topic,
          payload: Buffer.from(r.payload),
          qos: 1,
          retain: false,
          dup: false,
        } as AedesPublishPacket,
        () => undefined,
      );
    });
  hooks.authorizePublish = (client, packet, cb) => {
    const parsed = parseTopic(packet.topic);
    // Like the gateway's aedes adapter: a device's message is consumed (answered, not forwarded).
    if (!client || !parsed.ok || parsed.direction === 'backend-to-device')
      return previous(client, packet, cb);
    void answer(packet).then(() => {
      packet.topic = '$hyperfleet/consumed';
      packet.retain = false;
      cb(null);
    });
  };
  stopServer = async () => {
    await broker.stop();
    await pool.end();
  };
  return broker.url;
}

/**
 * Experiment (BENCH_INGEST_AEDES_NODELAY=1): TCP_NODELAY on the embedded broker's accepted sockets,
 * set from here on the running server, to show what Nagle's algorithm costs a request/reply round trip.
 */
function noDelayOnAccept(broker: EmbeddedMqttBroker | undefined): void {
  if (!process.env.BENCH_INGEST_AEDES_NODELAY || !broker) return;
  const server = (broker as unknown as { server: import('node:net').Server | null }).server;
  server?.on('connection', (socket) => socket.setNoDelay(true));
}

async function main(): Promise<void> {
  const url = config.role === 'gateway' ? await startGateway() : await startCeiling();
  eluMark = performance.eventLoopUtilization();
  send({ type: 'ready', deviceUrl: url });
}

main().catch((err: Error) => {
  send({ type: 'failed', error: err.stack ?? err.message });
  setTimeout(() => process.exit(1), 100);
});
