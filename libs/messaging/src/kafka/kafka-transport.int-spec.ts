import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { EVENT_STORE_MIGRATIONS, PostgresEventStore, runMigrations } from '@hyperfleet/event-store';
import { createTestDatabase, describeKafka, kafkaBrokers, type TestDatabase } from '@hyperfleet/testing';
import { OutboxRelay } from '../outbox/outbox-relay';
import { transportContract, type ContractFixture } from '../transport/transport.contract';
import { KafkaTransport } from './kafka-transport';

describeKafka('KafkaTransport (real Kafka broker)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: OutboxRelay;
  let fx: ContractFixture;

  beforeAll(async () => {
    db = await createTestDatabase('hf_kafka');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    const transport = new KafkaTransport({
      brokers: kafkaBrokers()!,
      topicPrefix: `hf-test-${randomUUID().slice(0, 8)}`,
      partitions: 3,
    });
    await transport.start();
    relay = new OutboxRelay({ pool, transport, pollIntervalMs: 50 });
    await relay.start();
    fx = {
      transport,
      store: new PostgresEventStore(pool),
      flushDeviceEvents: () => relay.waitUntilCaughtUp(30_000),
    };
  });

  afterAll(async () => {
    await relay?.stop();
    await fx?.transport.close();
    await pool?.end();
    await db?.drop();
  });

  transportContract('kafka', () => fx);
});
