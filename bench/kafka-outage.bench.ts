import { performance } from 'node:perf_hooks';
import { Test } from '@nestjs/testing';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { DomainModule, ProvisionDevice } from '@hyperfleet/domain';
import { BEHAVIOURS_OFF, Fleet, deviceIdFor, generateDeviceSpec } from '@hyperfleet/fleet-sim';
import { KafkaTransport, type OutboxRelay, type TelemetryRelay } from '@hyperfleet/messaging';
import {
  EVENT_STORE,
  EVENT_TRANSPORT,
  OUTBOX_RELAY,
  PlatformModule,
  TELEMETRY_RELAY,
  loadConfig,
  startInfrastructure,
} from '@hyperfleet/platform';
import { KafkaOutageProxy } from '../libs/testing/src/kafka-outage';
import { freePort } from '../libs/testing/src/process';
import { DeviceGatewayModule } from '../apps/device-gateway/src/device-gateway.module';
import { drive, type WorkloadKind } from './ingest/driver';
import { benchDatabase, fmt, table } from './support';

/*
 * Issue 11: ingest while Kafka is down vs up, and the relays' time to drain a backlog.
 * One process: the gateway (embedded aedes, Kafka through a proxy this bench cuts, so the shared
 * broker keeps running), its relays, and fleet-sim devices driving the ingest benchmark's closed
 * loop (bench/ingest/driver.ts). Needs KAFKA_BROKERS. BENCH_OUTAGE_DEVICES (default 200),
 * BENCH_OUTAGE_BACKLOG_SECONDS (default 60), BENCH_SECONDS per throughput measurement (min 10).
 */
const env = process.env;
const progress = (line: string) => process.stdout.write(`${line}\n`);

export async function kafkaOutageBench(seconds: number): Promise<void> {
  const brokers = env.KAFKA_BROKERS?.split(',').filter(Boolean);
  if (!brokers?.length) {
    progress('kafka-outage: KAFKA_BROKERS is not set (npm run kafka:start); skipped.');
    return;
  }
  const size = Number(env.BENCH_OUTAGE_DEVICES ?? 200);
  const backlogSeconds = Number(env.BENCH_OUTAGE_BACKLOG_SECONDS ?? 60);
  const measureMs = Math.max(10, seconds) * 1000;
  const db = await benchDatabase('kafka_outage');
  const proxy = await KafkaOutageProxy.start(brokers[0]);
  const topicPrefix = `hf-bench-${Date.now().toString(36)}`;
  const infra = await startInfrastructure(
    loadConfig({
      ...env,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      MQTT_URL: '',
      EMBEDDED_MQTT_PORT: String(await freePort()),
      KAFKA_BROKERS: proxy.address,
      KAFKA_TOPIC_PREFIX: topicPrefix,
    }),
    { needsMqtt: true },
  );
  const moduleRef = await Test.createTestingModule({
    imports: [
      PlatformModule.forRoot(infra),
      CqrsModule.forRoot(),
      DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
      DeviceGatewayModule.forRoot({
        authenticateDevices: false,
        rateLimitPerSecond: 10_000,
        rateLimitBurst: 10_000,
      }),
    ],
  })
    .overrideProvider(EVENT_TRANSPORT)
    .useValue(
      new KafkaTransport({
        brokers: [proxy.address],
        socketFactory: proxy.socketFactory,
        topicPrefix,
        log: () => undefined,
      }),
    )
    .compile();
  moduleRef.useLogger(['error']);
  const app = await moduleRef.init();
  const telemetryRelay = app.get<TelemetryRelay>(TELEMETRY_RELAY);
  const outboxRelay = app.get<OutboxRelay>(OUTBOX_RELAY);
  const prefix = 'ko';
  const SEED = 7;
  const rows: (string | number)[][] = [];
  let fleet: Fleet | null = null;
  try {
    const bus = app.get(CommandBus);
    const todo = Array.from({ length: size }, (_, i) => generateDeviceSpec(SEED, i, deviceIdFor(prefix, i)));
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let s = todo.pop(); s; s = todo.pop()) {
          await bus.execute(
            new ProvisionDevice({
              deviceId: s.deviceId,
              deviceClass: s.deviceClass,
              site: s.site,
              tags: s.tags,
            }),
          );
        }
      }),
    );
    fleet = new Fleet({
      count: size,
      mqttUrl: infra.mqttUrl,
      seed: SEED,
      idPrefix: prefix,
      connectRate: 200,
      ...BEHAVIOURS_OFF,
      keepaliveSec: 300,
      replyTimeoutMs: 600_000,
      validate: false,
    });
    await fleet.start();
    for (let t = 0; fleet.counters.birthsAccepted < size; t++) {
      if (t > 1200) throw new Error(`only ${fleet.counters.birthsAccepted} of ${size} births accepted`);
      await new Promise((r) => setTimeout(r, 100));
    }
    progress(`  ${size} devices online; ${Math.round(measureMs / 1000)} s per measurement`);

    const drain = async (what: string) => {
      const backlog = (await telemetryRelay.status()).backlog;
      const outbox = (await outboxRelay.status()).backlog;
      const t0 = performance.now();
      await proxy.restore();
      await telemetryRelay.waitUntilCaughtUp(900_000);
      await outboxRelay.waitUntilCaughtUp(900_000);
      const s = (performance.now() - t0) / 1000;
      progress(
        `  ${what}: drained ${fmt(backlog)} telemetry records and ${fmt(outbox)} events in ${s.toFixed(1)} s`,
      );
      return { backlog, outbox, s };
    };

    const measure = async (kind: WorkloadKind, kafka: 'up' | 'down', ms = measureMs) => {
      if (kafka === 'down') await proxy.cut();
      const r = await drive(fleet!, kind, { window: 512, warmupMs: 2000, measureMs: ms, telemetryBatch: 20 });
      progress(
        `  ${kind}, Kafka ${kafka}: ${fmt(r.msgsPerSecond)} msgs/s (${fmt(r.accepted)} accepted, ${r.rejected} rejected, ${r.timeouts} timeouts)`,
      );
      return r.msgsPerSecond;
    };

    for (const kind of ['telemetry', 'domain'] as const) {
      await telemetryRelay.waitUntilCaughtUp(300_000);
      await outboxRelay.waitUntilCaughtUp(300_000);
      // Up, down, drain, up again: the two ups bracket the down (the machine's load drifts).
      const up1 = await measure(kind, 'up');
      const down = await measure(kind, 'down');
      const d = await drain(`after the ${kind} run`);
      const up2 = await measure(kind, 'up');
      const up = (up1 + up2) / 2;
      rows.push([
        kind,
        `${fmt(up1)} / ${fmt(up2)}`,
        fmt(down),
        `${((down / up) * 100).toFixed(0)}%`,
        fmt(d.backlog),
        fmt(d.outbox),
        d.s.toFixed(1),
      ]);
    }
    progress('');
    progress(
      table(
        [
          'workload',
          'Kafka up msgs/s (before / after)',
          'Kafka down msgs/s',
          'down/up',
          'spooled',
          'outbox',
          'drain s',
        ],
        rows,
      ),
    );

    // A backlog of `backlogSeconds` of telemetry at the ingest rate, then the time to publish it.
    if (backlogSeconds > 0) {
      await telemetryRelay.waitUntilCaughtUp(300_000);
      const rate = await measure('telemetry', 'down', backlogSeconds * 1000);
      const d = await drain(`${backlogSeconds}-second telemetry backlog`);
      progress('');
      progress(
        table(
          [
            'backlog',
            'ingest msgs/s (Kafka down)',
            'records spooled',
            'drain s',
            'drain records/s',
            'drain / backlog time',
          ],
          [
            [
              `${backlogSeconds} s`,
              fmt(rate),
              fmt(d.backlog),
              d.s.toFixed(1),
              fmt(d.backlog / d.s),
              `${((d.s / (backlogSeconds + 2)) * 100).toFixed(0)}%`,
            ],
          ],
        ),
      );
    }
  } finally {
    await proxy.restore();
    await fleet?.stop({ drainTimeoutMs: 0 }).catch(() => undefined);
    await app.close();
    await infra.stop();
    await proxy.stop();
    await db.close();
  }
}
