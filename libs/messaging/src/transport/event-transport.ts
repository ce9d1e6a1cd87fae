/**
 * The event transport port: how events leave the event store and how telemetry travels.
 * Two adapters implement it — Kafka (kafkajs) and the PostgreSQL log for the embedded default —
 * and one contract test suite runs against both (transport.contract.ts).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * `device-events`: every domain event, in event-store order per key (a device's events stay ordered).
 * `telemetry`: high-volume samples from the gateway, never stored in aggregate streams.
 * `dead-letters`: events a projection parked after failing on them (Kafka only; the PostgreSQL
 * deployment keeps them in rm.dead_letters, where the Kafka one keeps them too).
 */
export type Channel = 'device-events' | 'telemetry' | 'dead-letters';
export const CHANNELS: readonly Channel[] = ['device-events', 'telemetry', 'dead-letters'];

/** Kafka topic of a channel: versioned names, so a breaking change gets a new topic. */
export function topicName(channel: Channel, prefix = 'hyperfleet'): string {
  return `${prefix}.${channel}.v1`;
}

/**
 * CloudEvents 1.0, structured JSON mode on Kafka (content type application/cloudevents+json).
 * Hyperfleet's extension attributes (lower-case, as the spec requires):
 * hfstream, hfstreamposition, hflogposition (`<transactionId>/<globalPosition>`), hfschemaversion,
 * hfcorrelationid, hfcausationid.
 */
export interface CloudEvent<T extends JsonObject = JsonObject> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: T;
  readonly hfstream?: string;
  readonly hfstreamposition?: string;
  readonly hflogposition?: string;
  readonly hfschemaversion?: number;
  readonly hfcorrelationid?: string;
  readonly hfcausationid?: string;
}

export interface TransportRecord {
  /** Partition key: the device id for device streams, so one device's events stay in order. */
  readonly key: string;
  readonly event: CloudEvent;
  /**
   * The event as JSON, when the producer has it already (the gateway splices a payload's own text):
   * JSON.parse of it equals `event`. Transports write it instead of serialising `event` again.
   */
  readonly json?: string;
}

export interface Delivery extends TransportRecord {
  readonly channel: Channel;
  /** Opaque, transport-specific: `partition:offset` on Kafka, `<tx>/<position>` on the PostgreSQL log. */
  readonly position: string;
}

export interface SubscribeOptions {
  /** Consumer group: each group gets every record once; instances of a group share the work. */
  readonly group: string;
  readonly channel: Channel;
  /** Where a group without progress starts. Default: the beginning. */
  readonly fromBeginning?: boolean;
  /**
   * Handles one batch; records of one key arrive in order. The transport stores the group's
   * progress only after this resolves, so a crash redelivers: handlers must be idempotent.
   */
  readonly handle: (batch: readonly Delivery[]) => Promise<void>;
  readonly onError?: (err: unknown) => void;
}

export interface TransportSubscription {
  /** Resolves once everything published before the call has been handled. */
  waitUntilCaughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EventTransport {
  readonly kind: 'kafka' | 'postgres-log';
  start(): Promise<void>;
  /**
   * Publishes records in order. On the PostgreSQL log, `device-events` is the event store itself,
   * so publishing to it is refused: domain events enter only by appending to streams.
   */
  publish(channel: Channel, records: readonly TransportRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<TransportSubscription>;
  close(): Promise<void>;
}
