/**
 * The outbox relay through a Kafka outage: a private broker (so the shared one stays up for the
 * other suites) is stopped for a minute while appends go on, then started again. Nothing is lost,
 * the backlog grows during the outage and drains afterwards, and each key stays in order.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, runMigrations } from '@hyperfleet/event-store';
import {
  REPO_ROOT,
  createTestDatabase,
  describeKafka,
  freePort,
  type TestDatabase,
} from '@hyperfleet/testing';
import { KafkaTransport } from '../kafka/kafka-transport';
import type { Delivery, TransportSubscription } from '../transport/event-transport';
import { OutboxRelay } from './outbox-relay';

const run = promisify(execFile);
const OUTAGE_MS = Number(process.env.HF_KAFKA_OUTAGE_MS ?? 60_000);

describeKafka('outbox relay through a Kafka outage (a private broker, stopped and restarted)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;
  let transport: KafkaTransport;
  let relay: OutboxRelay;
  let sub: TransportSubscription;
  let env: NodeJS.ProcessEnv;
  const received: Delivery[] = [];
  const kafka = (cmd: 'start' | 'stop' | 'clean') =>
    run('bash', [path.join(REPO_ROOT, 'deploy/local/kafka/kafka.sh'), cmd], {
      env,
      cwd: REPO_ROOT,
      timeout: 180_000,
    });

  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-kafka-outage-'));
    env = {
      ...process.env,
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      KAFKA_DATA_DIR: dataDir,
    };
    await kafka('start');
    db = await createTestDatabase('hf_outage');
    pool = new Pool({ connectionString: db.url, max: 8 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    store = new PostgresEventStore(pool);
    transport = new KafkaTransport({
      brokers: [`127.0.0.1:${env.KAFKA_PORT}`],
      topicPrefix: 'hf-outage',
      partitions: 3,
      log: () => undefined, // the outage makes kafkajs loud on purpose
    });
    await transport.start();
    relay = new OutboxRelay({ pool, transport, pollIntervalMs: 100, onError: () => undefined });
    await relay.start();
    sub = await transport.subscribe({
      group: 'outage-consumer',
      channel: 'device-events',
      handle: async (batch) => void received.push(...batch),
      onError: () => undefined,
    });
  }, 240_000);

  afterAll(async () => {
    await sub?.stop().catch(() => undefined);
    await relay?.stop();
    await transport?.close();
    await pool?.end();
    await db?.drop();
    await kafka('clean').catch(() => undefined);
    if (env?.KAFKA_DATA_DIR) fs.rmSync(env.KAFKA_DATA_DIR, { recursive: true, force: true });
  }, 120_000);

  const append = async (device: string, n: number, tag: string) => {
    for (let i = 0; i < n; i++) {
      await store.append(`hypervisor-${device}`, 'any', [
        { type: 'RtVmLatencyReported', data: { deviceId: device, tag, i }, metadata: { deviceId: device } },
      ]);
    }
  };

  it(
    'loses nothing: appends go on during the outage, the backlog grows, and drains when Kafka returns',
    async () => {
      const devices = ['veh-a', 'veh-b', 'ipc-c', 'ipc-d'];
      for (const d of devices) await append(d, 5, 'before');
      await relay.waitUntilCaughtUp(60_000);
      expect((await relay.status()).backlog).toBe(0);

      await kafka('stop');
      const backlog: number[] = [];
      const deadline = Date.now() + OUTAGE_MS;
      let round = 0;
      while (Date.now() < deadline) {
        for (const d of devices) await append(d, 1, `outage-${round}`);
        round++;
        backlog.push((await relay.status()).backlog);
        await new Promise((r) => setTimeout(r, Math.min(2000, OUTAGE_MS / 10)));
      }
      const during = await relay.status();
      expect(during.backlog).toBeGreaterThan(0);
      expect(backlog[backlog.length - 1]).toBeGreaterThan(backlog[0]);

      await kafka('start');
      for (const d of devices) await append(d, 3, 'after');
      await relay.waitUntilCaughtUp(180_000);
      expect((await relay.status()).backlog).toBe(0);
      await sub.waitUntilCaughtUp(180_000);

      const { rows } = await pool.query<{ message_id: string; stream_id: string; stream_position: string }>(
        `SELECT message_id, stream_id, stream_position FROM hf.events ORDER BY transaction_id, global_position`,
      );
      // at least once: duplicates may appear (a batch in flight when the broker went away), losses never
      const ids = new Set(received.map((d) => d.event.id));
      expect(rows.filter((r) => !ids.has(r.message_id))).toEqual([]);
      // in order per key once duplicates are dropped, as a projection's per-stream dedupe drops them
      for (const d of devices) {
        const seen = new Set<string>();
        const positions = received
          .filter((x) => x.key === d && !seen.has(x.event.id) && seen.add(x.event.id))
          .map((x) => Number(x.event.hfstreamposition));
        expect(positions).toEqual(positions.slice().sort((a, b) => a - b));
        expect(positions).toHaveLength(rows.filter((r) => r.stream_id === `hypervisor-${d}`).length);
      }
    },
    OUTAGE_MS + 420_000,
  );
});
