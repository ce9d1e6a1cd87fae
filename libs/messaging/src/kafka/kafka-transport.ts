import {
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type ISocketFactory,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { parseCloudEvent } from '../transport/cloud-event';
import {
  CHANNELS,
  topicName,
  type Channel,
  type Delivery,
  type EventTransport,
  type SubscribeOptions,
  type TransportRecord,
  type TransportSubscription,
} from '../transport/event-transport';

export interface KafkaTransportOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Topic names are `<prefix>.<channel>.v1`; consumer groups `<prefix>.<group>`. */
  readonly topicPrefix?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly retentionMs?: Partial<Record<Channel, number>>;
  /** Where kafkajs' own errors go; retriable noise of a group's first join is dropped. */
  readonly log?: (line: string) => void;
  /** How connections to brokers are opened (tests route them through a proxy they can cut). */
  readonly socketFactory?: ISocketFactory;
}

const DAY = 24 * 3600_000;
export const DEFAULT_RETENTION: Record<Channel, number> = {
  'device-events': 30 * DAY,
  telemetry: 2 * DAY,
  'dead-letters': 30 * DAY,
};
/** Bytes of record values one produce request carries at most (below the broker's 1 MiB default). */
const MAX_REQUEST_BYTES = 768 * 1024;
const TRANSIENT = /coordinator is not available|coordinator is loading|not the correct coordinator|rebalanc/i;

/**
 * Kafka adapter. Structured-mode CloudEvents (JSON value, `content-type: application/cloudevents+json`),
 * keyed by device id; an idempotent producer with one request in flight keeps each key in order;
 * consumer groups commit offsets only after the handler (and so its read-model transaction) is done.
 */
export class KafkaTransport implements EventTransport {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly prefix: string;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private readonly consumers = new Set<Consumer>();

  constructor(private readonly o: KafkaTransportOptions) {
    this.prefix = o.topicPrefix ?? 'hyperfleet';
    const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.kafka = new Kafka({
      clientId: o.clientId ?? 'hyperfleet',
      brokers: [...o.brokers],
      connectionTimeout: 3000,
      retry: { initialRetryTime: 300, retries: 8 },
      ...(o.socketFactory ? { socketFactory: o.socketFactory } : {}),
      logCreator:
        () =>
        ({ namespace, level, log: entry }: LogEntry) => {
          if (level > KafkaLogLevel.WARN) return;
          const { message, error } = entry as { message: string; error?: string };
          if (TRANSIENT.test(`${message} ${error ?? ''}`)) return;
          log(`[kafka ${namespace}] ${message}${error ? `: ${error}` : ''}`);
        },
    });
  }

  topic(channel: Channel): string {
    return topicName(channel, this.prefix);
  }

  /** Creates the topics (partitions and retention from the options) and connects the producer. */
  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = CHANNELS.filter((c) => !existing.has(this.topic(c)));
    if (missing.length) {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((c) => ({
          topic: this.topic(c),
          numPartitions: this.o.partitions ?? 6,
          replicationFactor: this.o.replicationFactor ?? 1,
          configEntries: [
            { name: 'retention.ms', value: String(this.o.retentionMs?.[c] ?? DEFAULT_RETENTION[c]) },
            { name: 'cleanup.policy', value: 'delete' },
          ],
        })),
      });
    }
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // An idempotent producer keeps retrying (kafkajs warns that a cap may break its guarantees):
      // during a broker outage a send waits, and the outbox backlog grows until Kafka is back.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
  }

  async publish(channel: Channel, records: readonly TransportRecord[]): Promise<void> {
    if (!this.producer) throw new Error('KafkaTransport.publish before start()');
    if (records.length === 0) return;
    // One request stays under the broker's message.max.bytes (1 MiB by default, per partition's
    // batch) even when every record goes to one partition: a relay's batch of 1,000 telemetry records
    // of one device (~2.6 MB) would otherwise be refused forever. Chunks go one after the other, so
    // per-key order holds.
    const messages = records.map((r) => ({
      key: r.key,
      value: r.json ?? JSON.stringify(r.event),
      headers: { 'content-type': 'application/cloudevents+json' },
    }));
    for (let i = 0; i < messages.length;) {
      let bytes = 0;
      let j = i;
      while (j < messages.length && (j === i || bytes + messages[j].value.length <= MAX_REQUEST_BYTES)) {
        bytes += messages[j].value.length + messages[j].key.length + 64;
        j++;
      }
      await this.producer.send({ topic: this.topic(channel), acks: -1, messages: messages.slice(i, j) });
      i = j;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<TransportSubscription> {
    const topic = this.topic(options.channel);
    const groupId = `${this.prefix}.${options.group}`;
    if (options.fromBeginning === false) await this.startGroupAtHead(groupId, topic);
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      retry: { retries: 10 },
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    // Subscribed means assigned: resolve only once the group has been joined.
    const joined = new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`consumer group ${groupId} did not join within 60 s`)),
        60_000,
      );
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(t);
        off();
        resolve();
      });
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const deliveries: Delivery[] = [];
        for (const m of batch.messages) {
          const d = toDelivery(options.channel, batch.partition, m);
          if (d) deliveries.push(d);
          else
            options.onError?.(
              new Error(`skipped a record that is not a CloudEvent at ${batch.partition}:${m.offset}`),
            );
        }
        if (deliveries.length) await options.handle(deliveries);
        const last = batch.messages[batch.messages.length - 1].offset;
        resolveOffset(last);
        // With autoCommit off, commitOffsetsIfNecessary never commits: commit the next offset explicitly.
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]);
        await heartbeat();
      },
    });
    await joined;
    this.consumers.add(consumer);
    return {
      waitUntilCaughtUp: (ms) => this.waitUntilCommitted(groupId, topic, ms),
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.clear();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.producer = null;
    this.admin = null;
  }

  /**
   * A new group that should skip history gets the current end offsets committed before it joins,
   * so "the head" means the head at subscribe time, not whenever the first fetch happens.
   */
  private async startGroupAtHead(groupId: string, topic: string): Promise<void> {
    const admin = this.admin!;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed?.partitions.some((p) => Number(p.offset) >= 0)) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
    });
  }

  /** Waits until the group's committed offsets reach the topic's end offsets as they are now. */
  private async waitUntilCommitted(groupId: string, topic: string, timeoutMs = 30_000): Promise<void> {
    const admin = this.admin ?? this.kafka.admin();
    if (!this.admin) await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const behind = ends.filter((e) => {
        const c = committed?.partitions.find((p) => p.partition === e.partition);
        const at = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
        return at < Number(e.high);
      });
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`consumer group ${groupId} did not catch up on ${topic} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function toDelivery(channel: Channel, partition: number, m: KafkaMessage): Delivery | null {
  try {
    const event = parseCloudEvent(JSON.parse(m.value?.toString('utf8') ?? 'null'));
    return { channel, key: m.key?.toString('utf8') ?? '', event, position: `${partition}:${m.offset}` };
  } catch {
    return null;
  }
}
