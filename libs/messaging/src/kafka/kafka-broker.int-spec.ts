/**
 * Proves that kafkajs works against the real broker (npm run kafka:start, KAFKA_BROKERS=127.0.0.1:9092):
 * topics are created on purpose, an idempotent producer writes keyed messages, a consumer group reads
 * them back from the beginning, exactly once each, and every key keeps its order within its partition.
 * Skips loudly without KAFKA_BROKERS; fails under CI=true without it.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, Kafka, logLevel, LogEntry, Partitioners, Producer } from 'kafkajs';
import { describeKafka, kafkaBrokers } from '@hyperfleet/testing';

interface Received {
  /** The Kafka message key. */
  key: string;
  /** The key and sequence number the producer put in the value. */
  body: { key: string; seq: number; run: string };
  seq: number;
  partition: number;
  offset: bigint;
}

const PARTITIONS = 3;
const KEYS = ['device-a', 'device-b', 'device-c', 'device-d', 'device-e', 'device-f'];
const PER_KEY = 10;
const TOTAL = KEYS.length * PER_KEY;

/**
 * kafkajs errors go to the test output, except the retriable ones of a group's first join on a fresh
 * broker: FindCoordinator answers COORDINATOR_NOT_AVAILABLE while __consumer_offsets is being created.
 */
const TRANSIENT = /coordinator is not available|coordinator is loading|not the correct coordinator/i;
const quietLogCreator =
  () =>
  ({ namespace, log }: LogEntry): void => {
    const { message, error } = log as { message: string; error?: string };
    if (error && TRANSIENT.test(error)) return;
    console.error(`[kafkajs ${namespace}] ${message}${error ? `: ${error}` : ''}`);
  };

/** Resolves when `done()` holds, polling; rejects with `what` after `ms`. */
async function eventually(what: string, done: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeKafka('Kafka broker (kafkajs against a real broker)', () => {
  const run = `${Date.now()}-${randomUUID().slice(0, 8)}`;
  const topic = `hf.int.kafka-broker.${run}`;
  const groupId = `hf-int-kafka-broker-${run}`;

  let kafka: Kafka;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let topicCreated = false;

  beforeAll(async () => {
    kafka = new Kafka({
      clientId: 'hyperfleet-int-spec',
      brokers: kafkaBrokers() ?? [],
      logLevel: logLevel.ERROR,
      logCreator: quietLogCreator,
      connectionTimeout: 3_000,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    // Each step on its own: one failing disconnect must not leave the others open.
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    if (admin) {
      await admin.deleteGroups([groupId]).catch(() => undefined);
      if (topicCreated) await admin.deleteTopics({ topics: [topic], timeout: 5_000 }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  });

  it('creates a topic with the requested partitions (single node: replication factor 1)', async () => {
    const created = await admin!.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    expect(created).toBe(true);
    topicCreated = true;

    const { topics } = await admin!.fetchTopicMetadata({ topics: [topic] });
    expect(topics).toHaveLength(1);
    expect(topics[0].partitions).toHaveLength(PARTITIONS);
    for (const p of topics[0].partitions) {
      expect(p.leader).toBeGreaterThanOrEqual(0);
      expect(p.replicas).toHaveLength(1);
    }
  });

  it('produces with an idempotent producer and a consumer group receives exactly that, in key order', async () => {
    expect(topicCreated).toBe(true);

    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();

    // Interleave the keys over several requests: round r carries message r of every key.
    for (let seq = 0; seq < PER_KEY; seq++) {
      const metadata = await producer.send({
        topic,
        acks: -1,
        messages: KEYS.map((key) => ({ key, value: JSON.stringify({ key, seq, run }) })),
      });
      expect(metadata.every((m) => m.errorCode === 0)).toBe(true);
    }
    const offsets = await admin!.fetchTopicOffsets(topic);
    const produced = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    expect(produced).toBe(TOTAL);

    const received: Received[] = [];
    // A short fetch long-poll: disconnect() waits for the fetch in flight (5 s by default).
    consumer = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // Only record here: a throw inside eachMessage makes kafkajs retry the message, not fail the test.
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const body = JSON.parse(message.value?.toString() ?? 'null') as Received['body'];
        const key = message.key?.toString() ?? '';
        received.push({ key, body, seq: body?.seq, partition, offset: BigInt(message.offset) });
      },
    });

    await eventually(`${TOTAL} messages`, () => received.length >= TOTAL);
    // Linger a moment: a duplicate delivery would show up now.
    await new Promise((r) => setTimeout(r, 500));

    // Exactly what was produced: every (key, seq) once, nothing else.
    expect(received).toHaveLength(TOTAL);
    for (const m of received) expect(m.body).toEqual({ key: m.key, seq: m.seq, run });
    const seen = new Set(received.map((m) => `${m.key}#${m.seq}`));
    expect(seen.size).toBe(TOTAL);
    for (const key of KEYS)
      for (let seq = 0; seq < PER_KEY; seq++) expect(seen.has(`${key}#${seq}`)).toBe(true);

    // Keyed messages stay in one partition, in the order they were produced, at rising offsets.
    const partitionOfKey = new Map<string, number>();
    for (const key of KEYS) {
      const mine = received.filter((m) => m.key === key);
      const partitions = new Set(mine.map((m) => m.partition));
      expect(partitions.size).toBe(1);
      partitionOfKey.set(key, mine[0].partition);
      expect(mine.map((m) => m.seq)).toEqual([...Array(PER_KEY).keys()]);
      for (let i = 1; i < mine.length; i++) expect(mine[i].offset > mine[i - 1].offset).toBe(true);
    }
    // The keys really were spread: more than one partition carries data.
    expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1);

    // The group's offsets are committed at the coordinator (needs __consumer_offsets, RF 1 on one node).
    await eventually('committed offsets', async () => {
      const [committed] = await admin!.fetchOffsets({ groupId, topics: [topic] });
      const total = committed.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      return total === TOTAL;
    });
  });
});
