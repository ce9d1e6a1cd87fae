import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, runMigrations } from '@hyperfleet/event-store';
import {
  KafkaOutageProxy,
  createTestDatabase,
  describeKafka,
  kafkaBrokers,
  type TestDatabase,
} from '@hyperfleet/testing';
import { KafkaTransport } from '../kafka/kafka-transport';
import { MESSAGING_MIGRATION_SET } from '../postgres-log/migrations';
import type { Delivery, TransportRecord } from '../transport/event-transport';
import { writeTelemetryLog } from './telemetry-log';
import { TelemetryRelay } from './telemetry-relay';

const KEYS = ['dev-a', 'dev-b', 'dev-c', 'dev-d', 'dev-e'];

const sample = (key: string, seq: number, run: string): TransportRecord => ({
  key,
  event: {
    specversion: '1.0',
    id: randomUUID(),
    source: `urn:hyperfleet:device:${key}`,
    type: 'hf.device.telemetry',
    subject: key,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { seq, run },
  },
});

describeKafka('TelemetryRelay: the telemetry spool across a Kafka outage (real Kafka, proxy cut)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let proxy: KafkaOutageProxy;
  let relayTransport: KafkaTransport;
  let reader: KafkaTransport;
  let relay: TelemetryRelay;
  const logLines: string[] = [];
  const seqs = new Map<string, number>(KEYS.map((k) => [k, 0]));
  const run = randomUUID();

  /** Commits `perKey` records of every device, one gateway-like transaction per 20 records per key. */
  async function ingest(perKey: number): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < perKey; i += 20) {
      const batch: TransportRecord[] = [];
      for (let j = 0; j < Math.min(20, perKey - i); j++) {
        for (const k of KEYS) {
          const n = seqs.get(k)!;
          seqs.set(k, n + 1);
          batch.push(sample(k, n, run));
        }
      }
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await writeTelemetryLog(c, batch);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }
    return performance.now() - t0;
  }

  async function readTopic(): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const sub = await reader.subscribe({
      group: `check-${randomUUID()}`,
      channel: 'telemetry',
      handle: async (b) => void got.push(...b),
    });
    await sub.waitUntilCaughtUp(60_000);
    await sub.stop();
    return got.filter((d) => d.event.data.run === run);
  }

  beforeAll(async () => {
    db = await createTestDatabase('hf_tspool');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await runMigrations(pool, MESSAGING_MIGRATION_SET);
    proxy = await KafkaOutageProxy.start(kafkaBrokers()![0]);
    const topicPrefix = `hf-test-${randomUUID().slice(0, 8)}`;
    relayTransport = new KafkaTransport({
      brokers: [proxy.address],
      socketFactory: proxy.socketFactory,
      topicPrefix,
      partitions: 3,
      log: () => undefined,
    });
    await relayTransport.start();
    reader = new KafkaTransport({ brokers: kafkaBrokers()!, topicPrefix, partitions: 3 });
    await reader.start();
    relay = new TelemetryRelay({
      pool,
      transport: relayTransport,
      pollIntervalMs: 50,
      // Small batches: what the relay holds already read (the batch in flight and the next one) is
      // published even when the bound drops it, so the test keeps that well below what is dropped.
      batchSize: 100,
      maxSpoolRows: 500,
      maintenanceIntervalMs: 3600_000,
      log: (line) => logLines.push(line),
    });
    await relay.start();
  }, 60_000);

  afterAll(async () => {
    await relay?.stop();
    await relayTransport?.close();
    await reader?.close();
    await proxy?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('commits telemetry while Kafka is away and publishes it when Kafka is back: per-device order, once', async () => {
    await ingest(20);
    await relay.waitUntilCaughtUp(30_000);
    await proxy.cut();
    // Ingest is PostgreSQL only: 40 records per device commit while the broker is unreachable.
    const ms = await ingest(40);
    expect(ms).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 6000));
    const during = await relay.status();
    expect(during.backlog).toBeGreaterThanOrEqual(KEYS.length * 40 - 100);
    // (failingSince is set once a batch has waited 5 s for the broker; whether one was in flight
    // depends on the cluster's oldest transaction, so it is not asserted here.)
    await proxy.restore();
    await relay.waitUntilCaughtUp(90_000);
    expect((await relay.status()).failingSince).toBeNull();
    const got = await readTopic();
    expect(new Set(got.map((d) => d.event.id)).size).toBe(got.length); // no duplicate on the topic
    expect(got).toHaveLength(KEYS.length * 60);
    for (const k of KEYS) {
      expect(got.filter((d) => d.key === k).map((d) => d.event.data.seq)).toEqual(
        Array.from({ length: 60 }, (_, i) => i),
      );
    }
    // Published records leave the spool.
    await relay.maintain();
    expect((await pool.query('SELECT count(*)::int AS n FROM hf.telemetry_log')).rows[0].n).toBe(0);
  }, 180_000);

  it('past its bound the spool drops the OLDEST unpublished telemetry, logs it, and keeps order', async () => {
    await proxy.cut();
    await ingest(200); // 1,000 records, twice the bound of 500
    const dropped = await relay.maintain();
    expect(dropped).toBeGreaterThanOrEqual(450);
    expect(logLines.some((l) => l.startsWith('TELEMETRY_SPOOL_FULL'))).toBe(true);
    const status = await relay.status();
    expect(status.dropped).toBe(dropped);
    expect(status.backlog).toBeLessThanOrEqual(550);
    await proxy.restore();
    await relay.waitUntilCaughtUp(90_000);
    const got = (await readTopic()).filter((d) => (d.event.data.seq as number) >= 60);
    expect(new Set(got.map((d) => d.event.id)).size).toBe(got.length);
    for (const k of KEYS) {
      const mine = got.filter((d) => d.key === k).map((d) => d.event.data.seq as number);
      // In order; the newest 100 of each device all there. (The batch in flight and the one read
      // ahead when the bound was enforced may still go out: a gap, never a reordering.)
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
      expect(mine.slice(-100)).toEqual(Array.from({ length: 100 }, (_, i) => 160 + i));
      expect(mine.length).toBeLessThanOrEqual(100 + 40);
    }
  }, 180_000);
});
