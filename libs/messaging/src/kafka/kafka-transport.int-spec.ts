import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, runMigrations } from '@hyperfleet/event-store';
import { createTestDatabase, describeKafka, kafkaBrokers, type TestDatabase } from '@hyperfleet/testing';
import { OutboxRelay } from '../outbox/outbox-relay';
import { MESSAGING_MIGRATION_SET } from '../postgres-log/migrations';
import { writeTelemetryLog } from '../telemetry-spool/telemetry-log';
import { TelemetryRelay } from '../telemetry-spool/telemetry-relay';
import { ProduceFaults, withProduceFaults } from '../transport/produce-faults';
import { transportContract, type ContractFixture } from '../transport/transport.contract';
import { KafkaTransport } from './kafka-transport';

describeKafka('KafkaTransport (real Kafka broker)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: OutboxRelay;
  let telemetryRelay: TelemetryRelay;
  let fx: ContractFixture;

  beforeAll(async () => {
    db = await createTestDatabase('hf_kafka');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await runMigrations(pool, MESSAGING_MIGRATION_SET);
    const transport = new KafkaTransport({
      brokers: kafkaBrokers()!,
      topicPrefix: `hf-test-${randomUUID().slice(0, 8)}`,
      partitions: 3,
    });
    await transport.start();
    // The relays publish through a transport whose sends can be made to fail (the contract's faults).
    const faults = new ProduceFaults();
    const faulty = withProduceFaults(transport, faults);
    relay = new OutboxRelay({ pool, transport: faulty, pollIntervalMs: 50, onError: () => undefined });
    await relay.start();
    telemetryRelay = new TelemetryRelay({
      pool,
      transport: faulty,
      pollIntervalMs: 50,
      log: () => undefined,
    });
    await telemetryRelay.start();
    fx = {
      transport,
      store: new PostgresEventStore(pool),
      flushDeviceEvents: () => relay.waitUntilCaughtUp(30_000),
      writeTelemetry: async (records) => {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await writeTelemetryLog(c, records);
          await c.query('COMMIT');
        } finally {
          c.release();
        }
      },
      flushTelemetry: () => telemetryRelay.waitUntilCaughtUp(60_000),
      faults,
    };
  });

  afterAll(async () => {
    await relay?.stop();
    await telemetryRelay?.stop();
    await fx?.transport.close();
    await pool?.end();
    await db?.drop();
  });

  transportContract('kafka', () => fx);
});
