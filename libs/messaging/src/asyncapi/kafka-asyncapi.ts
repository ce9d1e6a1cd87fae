/**
 * The AsyncAPI 3.0 document of Hyperfleet's Kafka topics (docs/asyncapi-kafka.json): the consumer
 * contract. One channel per topic, one message per event type with its CloudEvent envelope, its
 * `data` schema (published-schemas.ts), key, order, dedupe and retention rules.
 */
import type { JsonSchema } from '@hyperfleet/contracts';
import { DEFAULT_RETENTION } from '../kafka/kafka-transport';
import { CHANNELS, topicName, type Channel } from '../transport/event-transport';
import { publishedEventTypes, type PublishedEventType } from './published-schemas';

const DAY = 24 * 3600_000;
const CHANNEL_IDS: Record<Channel, string> = {
  'device-events': 'deviceEvents',
  telemetry: 'telemetry',
  'dead-letters': 'deadLetters',
};

const CHANNEL_TEXT: Record<Channel, string> = {
  'device-events':
    'Every domain event of the event store, published by the outbox relay. Key: the device id for ' +
    "device streams (hypervisor-, service-vm-, rt-vm-…), else the stream id (a release's or a plan's " +
    "events stay together). Order: a key's events arrive in event-store order (hfstreamposition " +
    'increases by 1 per stream). The event store is the source of truth; a consumer that loses its ' +
    'place can rebuild from the start of the topic while retention allows, or from the API.',
  telemetry:
    'Telemetry records the gateway accepted, published from the telemetry spool (hf.telemetry_log) by ' +
    "the telemetry relay. Key: the device id. Order: a device's records arrive in the order the " +
    'gateway accepted its messages (data.epoch, then data.seq, increase); during a Kafka outage they ' +
    'wait in the spool, and past its bound (TELEMETRY_SPOOL_MAX_ROWS) the oldest are dropped: a gap ' +
    'in seq, never a reordering.',
  'dead-letters':
    'Events a projection parked after failing on them (the same rows as rm.dead_letters). Key: the ' +
    "parked event's key. For operators' alerting; not needed to follow the fleet.",
};

const RULES = [
  'Records are CloudEvents 1.0 in structured mode: the value is the JSON event, header ' +
    '`content-type: application/cloudevents+json`, the key is a UTF-8 string.',
  'Dedupe by the CloudEvent `id`. Delivery is at least once: the relays store their checkpoint only ' +
    'after the broker acknowledged a batch, so a relay process that dies in between makes its ' +
    'successor send that batch again (up to 500 events or 1,000 telemetry records). The producer is ' +
    "idempotent, so the broker's own retries add no copy. A device-event `id` is the event's message id " +
    '(unique in the store); a telemetry `id` is `<deviceId>/<msgId>` (a redelivered device message ' +
    'keeps it).',
  'Order is per key (partitioning by key; a relay never sends record n+1 of a key before record n was ' +
    'acknowledged). There is no order across keys.',
  'hfschemaversion is the version of `data` for the event type. Within a version a schema only ' +
    'gains optional fields or enum values: ignore unknown fields, tolerate unknown enum values. A ' +
    'breaking change is a new version (and is announced); docs/event-schemas.snapshot.json holds ' +
    'every published version and a CI test refuses an incompatible change to one.',
  `Retention: device-events ${DEFAULT_RETENTION['device-events'] / DAY} days, telemetry ` +
    `${DEFAULT_RETENTION.telemetry / DAY} days, dead-letters ${DEFAULT_RETENTION['dead-letters'] / DAY} days ` +
    '(cleanup.policy delete), 6 partitions each by default. Topic names carry their version (`.v1`).',
];

function envelope(t: PublishedEventType): JsonSchema {
  const string = { type: 'string' };
  const deviceEvent = t.channel === 'device-events';
  return {
    type: 'object',
    required: [
      'specversion',
      'id',
      'source',
      'type',
      'time',
      'datacontenttype',
      'data',
      ...(deviceEvent ? ['subject', 'hfstream', 'hfstreamposition', 'hflogposition', 'hfschemaversion'] : []),
    ],
    properties: {
      specversion: { type: 'string', const: '1.0' },
      id: { type: 'string', minLength: 1, description: 'Dedupe on this' },
      source: {
        type: 'string',
        description: deviceEvent
          ? 'urn:hyperfleet:event-store'
          : t.channel === 'telemetry'
            ? 'urn:hyperfleet:device:<deviceId>'
            : 'urn:hyperfleet:projector:<projection>',
      },
      type: { type: 'string', const: t.type },
      subject: {
        type: 'string',
        description: deviceEvent
          ? 'The stream id'
          : t.channel === 'telemetry'
            ? 'The device id'
            : 'The stream id',
      },
      time: { type: 'string', format: 'date-time' },
      datacontenttype: { type: 'string', const: 'application/json' },
      data: t.data,
      ...(deviceEvent
        ? {
            hfstream: { ...string, description: 'Stream id (same as subject)' },
            hfstreamposition: {
              type: 'string',
              pattern: '^[1-9][0-9]*$',
              description: 'Position in the stream, from 1, as a decimal string',
            },
            hflogposition: {
              type: 'string',
              pattern: '^[0-9]+/[0-9]+$',
              description: 'Position in the whole log: <transactionId>/<globalPosition>',
            },
            hfschemaversion: { type: 'integer', const: t.schemaVersion },
            hfcorrelationid: { ...string, description: 'The request or process that caused the event' },
            hfcausationid: { ...string, description: 'The command (or message) that caused the event' },
          }
        : {}),
    },
  };
}

const messageId = (t: PublishedEventType) => t.type.replace(/[^A-Za-z0-9_.-]/g, '_');

/** A plain AsyncAPI 3.0 document (JSON-serialisable). */
export function buildKafkaAsyncApiDocument(): { asyncapi: string } & Record<string, unknown> {
  const published = publishedEventTypes();
  const messages: Record<string, unknown> = {};
  for (const t of published) {
    messages[messageId(t)] = {
      name: t.type,
      title: t.type,
      summary: t.summary,
      contentType: 'application/cloudevents+json',
      headers: {
        type: 'object',
        properties: { 'content-type': { type: 'string', const: 'application/cloudevents+json' } },
      },
      payload: envelope(t),
      bindings: {
        kafka: {
          key: {
            type: 'string',
            description:
              t.channel === 'device-events'
                ? 'The device id (device streams), else the stream id'
                : 'The device id',
          },
          bindingVersion: '0.5.0',
        },
      },
      'x-hf-schema-version': t.schemaVersion,
    };
  }
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const c of CHANNELS) {
    const mine = published.filter((t) => t.channel === c);
    const id = CHANNEL_IDS[c];
    channels[id] = {
      address: topicName(c),
      title: topicName(c),
      description: CHANNEL_TEXT[c],
      messages: Object.fromEntries(
        mine.map((t) => [messageId(t), { $ref: `#/components/messages/${messageId(t)}` }]),
      ),
      bindings: {
        kafka: {
          topic: topicName(c),
          partitions: 6,
          topicConfiguration: { 'cleanup.policy': ['delete'], 'retention.ms': DEFAULT_RETENTION[c] },
          bindingVersion: '0.5.0',
        },
      },
    };
    operations[`receive-${c}`] = {
      action: 'receive',
      title: `Consume ${topicName(c)}`,
      channel: { $ref: `#/channels/${id}` },
      messages: mine.map((t) => ({ $ref: `#/channels/${id}/messages/${messageId(t)}` })),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Hyperfleet Kafka topics',
      version: '1.0.0',
      description: `What Hyperfleet publishes on Kafka, for consumers (docs/consumers.md).\n\n${RULES.map((r) => `- ${r}`).join('\n')}`,
    },
    defaultContentType: 'application/cloudevents+json',
    servers: {
      local: {
        host: '127.0.0.1:9092',
        protocol: 'kafka',
        description: 'The development broker (npm run kafka:start); production: your KAFKA_BROKERS',
      },
    },
    channels,
    operations,
    components: { messages },
  };
}
