/**
 * Issue 11, part 1: a Kafka outage never stops device ingest. The gateway runs on Kafka through a
 * proxy the test cuts (the shared broker keeps running for everyone else): domain messages commit to
 * the event store (the outbox), telemetry to the spool, /health says degraded with ingest up (200),
 * and when Kafka is back both relays publish everything in per-device order.
 */
import { randomUUID } from 'node:crypto';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { DomainModule, ProvisionDevice } from '@hyperfleet/domain';
import type { PostgresEventStore } from '@hyperfleet/event-store';
import { KafkaTransport, OutboxRelay, TelemetryRelay, type Delivery } from '@hyperfleet/messaging';
import {
  EVENT_STORE,
  EVENT_TRANSPORT,
  HealthController,
  HealthService,
  OUTBOX_RELAY,
  PlatformModule,
  TELEMETRY_RELAY,
  loadConfig,
  startInfrastructure,
  type RuntimeInfrastructure,
} from '@hyperfleet/platform';
import {
  KafkaOutageProxy,
  createTestDatabase,
  describeKafka,
  freePort,
  kafkaBrokers,
  type TestDatabase,
} from '@hyperfleet/testing';
import { DeviceGatewayModule } from '../src/device-gateway.module';
import { DeviceCredentialStore } from '../src/identity';
import { TestAgent, uniqueId } from './harness';

describeKafka('device gateway while Kafka is down (real Kafka behind a cut proxy)', () => {
  let db: TestDatabase;
  let infra: RuntimeInfrastructure;
  let app: INestApplicationContext;
  let proxy: KafkaOutageProxy;
  let reader: KafkaTransport;
  const agents: TestAgent[] = [];
  const topicPrefix = `hf-test-${randomUUID().slice(0, 8)}`;

  async function registered(prefix: string): Promise<TestAgent> {
    const deviceId = uniqueId(prefix);
    await app
      .get(CommandBus)
      .execute(new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'test-site', tags: [] }));
    const { password } = await app.get(DeviceCredentialStore).issue(deviceId);
    const a = await TestAgent.connect(infra.mqttUrl, deviceId, { username: deviceId, password });
    agents.push(a);
    expect(await a.send('birth', a.birth())).toMatchObject({ status: 'accepted' });
    return a;
  }

  async function readTopic(channel: 'telemetry' | 'device-events'): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const sub = await reader.subscribe({
      group: `check-${randomUUID()}`,
      channel,
      handle: async (b) => void got.push(...b),
    });
    await sub.waitUntilCaughtUp(60_000);
    await sub.stop();
    return got;
  }

  beforeAll(async () => {
    proxy = await KafkaOutageProxy.start(kafkaBrokers()![0]);
    db = await createTestDatabase('hf_gw_kafka_outage');
    const config = loadConfig({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
      EMBEDDED_MQTT_PORT: String(await freePort()),
      KAFKA_BROKERS: proxy.address,
      KAFKA_TOPIC_PREFIX: topicPrefix,
    });
    infra = await startInfrastructure(config, { needsMqtt: true });
    const moduleRef = await Test.createTestingModule({
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        DeviceGatewayModule.forRoot({ heartbeatTimeoutMs: 60_000, instanceId: 'gw-outage' }),
      ],
    })
      // Every broker connection of the app's transport goes through the proxy.
      .overrideProvider(EVENT_TRANSPORT)
      .useValue(
        new KafkaTransport({
          brokers: [proxy.address],
          socketFactory: proxy.socketFactory,
          topicPrefix,
          partitions: 3,
          log: () => undefined,
        }),
      )
      .compile();
    app = await moduleRef.init();
    reader = new KafkaTransport({ brokers: kafkaBrokers()!, topicPrefix, partitions: 3 });
    await reader.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await proxy?.restore();
    await reader?.close();
    await app?.close();
    await infra?.stop();
    await proxy?.stop();
    await db?.drop();
  });

  it('accepts and commits every message while Kafka is cut; publishes it all in order when it is back', async () => {
    const devices = [await registered('outage-a'), await registered('outage-b')];
    await proxy.cut();
    const t0 = performance.now();
    const sent = new Map<string, number[]>();
    for (let round = 0; round < 5; round++) {
      for (const a of devices) {
        const t = a.message('telemetry');
        const vm = a.message('vm-state', {
          payload: {
            vmName: 'RT_VM0',
            state: round % 2 ? 'started' : 'stopped',
            observedAt: new Date().toISOString(),
          },
        });
        const h = a.message('health');
        for (const [kind, m] of [
          ['telemetry', t],
          ['vm-state', vm],
          ['health', h],
        ] as const) {
          expect(await a.send(kind, m as never)).toMatchObject({ status: 'accepted', kind });
        }
        sent.set(a.deviceId, [...(sent.get(a.deviceId) ?? []), t.seq, h.seq]);
      }
    }
    const elapsed = performance.now() - t0;
    // 30 messages, none waited for the broker (a produce retry would take seconds each).
    expect(elapsed).toBeLessThan(10_000);

    // Domain ingest went on: the vm-state changes are in the event store.
    const store = app.get<PostgresEventStore>(EVENT_STORE);
    for (const a of devices) {
      const types = (await store.readStream(`rt-vm-${a.deviceId}.RT_VM0`)).map((e) => e.type);
      expect(types.filter((t) => t === 'RtVmStateReported').length).toBeGreaterThanOrEqual(4);
    }

    // Health: Kafka degraded, ingest up, HTTP 200.
    await new Promise((r) => setTimeout(r, 6000));
    const report = await app.get(HealthService).check();
    expect(report.status).toBe('degraded');
    expect(report.checks.eventTransport).toMatchObject({ status: 'degraded', detail: { ingest: 'up' } });
    expect(report.checks.eventTransport.detail.telemetrySpoolBacklog).toBeGreaterThanOrEqual(20);
    expect(report.checks.postgres.status).toBe('up');
    let code = 0;
    await app.get(HealthController).get({ status: (c: number) => (code = c) } as never);
    expect(code).toBe(200);

    await proxy.restore();
    await app.get<TelemetryRelay>(TELEMETRY_RELAY).waitUntilCaughtUp(90_000);
    await app.get<OutboxRelay>(OUTBOX_RELAY).waitUntilCaughtUp(90_000);

    const telemetry = await readTopic('telemetry');
    for (const a of devices) {
      const mine = telemetry.filter((d) => d.key === a.deviceId);
      expect(new Set(mine.map((d) => d.event.id)).size).toBe(mine.length);
      expect(mine.map((d) => d.event.data.seq)).toEqual(sent.get(a.deviceId));
    }
    const events = await readTopic('device-events');
    for (const a of devices) {
      const mine = events.filter((d) => d.key === a.deviceId);
      const positions = mine
        .filter((d) => d.event.hfstream === `rt-vm-${a.deviceId}.RT_VM0`)
        .map((d) => Number(d.event.hfstreamposition));
      expect(positions.length).toBeGreaterThanOrEqual(5);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
  }, 240_000);
});
