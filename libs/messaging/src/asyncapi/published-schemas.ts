/**
 * Every event type Hyperfleet publishes on Kafka, with the JSON Schema of its `data`: domain events
 * from libs/domain's event schemas, telemetry records from the agent protocol's payload schemas
 * (plus the `epoch` and `seq` of the message they came in), and the projector's parked events.
 * Source of docs/asyncapi-kafka.json and of docs/event-schemas.snapshot.json.
 */
import { z } from 'zod';
import {
  healthPayloadSchema,
  telemetryPayloadSchema,
  toJsonSchema,
  updateProgressPayloadSchema,
  type JsonSchema,
} from '@hyperfleet/contracts';
import { DOMAIN_EVENT_SCHEMAS } from '@hyperfleet/domain';
import type { Channel } from '../transport/event-transport';

export interface PublishedEventType {
  readonly channel: Channel;
  readonly type: string;
  /** The `hfschemaversion` the type is published at (telemetry and parked events: 1). */
  readonly schemaVersion: number;
  readonly summary: string;
  /** JSON Schema (draft-07) of the CloudEvent's `data`. */
  readonly data: JsonSchema;
}

const messageOrigin = z.object({
  epoch: z.number().int().min(0).describe("The agent's connection epoch of the message"),
  seq: z.number().int().min(0).describe('The message sequence number within the epoch'),
});

const TELEMETRY: { type: string; payload: z.ZodObject; summary: string }[] = [
  {
    type: 'hf.device.telemetry',
    payload: telemetryPayloadSchema as unknown as z.ZodObject,
    summary: "A batch of per-VM samples from a device's `telemetry` message.",
  },
  {
    type: 'hf.device.health',
    payload: healthPayloadSchema as unknown as z.ZodObject,
    summary: "A device's `health` message: RT VM latency histograms, Service VM load, Device Model status.",
  },
  {
    type: 'hf.device.update-progress',
    payload: updateProgressPayloadSchema as unknown as z.ZodObject,
    summary: "A device's `update-progress` message: an OTA update reached a stage.",
  },
];

const parkedEvent = z.object({
  projection: z.string().describe('The projection that gave up on the event'),
  error: z.string(),
  attempts: z.number().int(),
  event: z.record(z.string(), z.unknown()).describe('The event as the projection received it'),
});

function withOrigin(payload: z.ZodObject): JsonSchema {
  const json = toJsonSchema(payload);
  const origin = toJsonSchema(messageOrigin);
  // `payload` may carry cross-field refinements, so the two are merged as JSON Schema, not zod.
  return {
    ...json,
    properties: { ...(json.properties as object), ...(origin.properties as object) },
    required: [...((json.required as string[]) ?? []), 'epoch', 'seq'],
  };
}

export function publishedEventTypes(): PublishedEventType[] {
  return [
    ...DOMAIN_EVENT_SCHEMAS.map((s) => ({
      channel: 'device-events' as const,
      type: s.type,
      schemaVersion: s.schemaVersion,
      summary: `${s.type} (the ${s.aggregate} aggregate), schema version ${s.schemaVersion}.`,
      data: toJsonSchema(s.data),
    })),
    ...TELEMETRY.map((t) => ({
      channel: 'telemetry' as const,
      type: t.type,
      schemaVersion: 1,
      summary: t.summary,
      data: withOrigin(t.payload),
    })),
    {
      channel: 'dead-letters' as const,
      type: 'hf.projection.event-parked',
      schemaVersion: 1,
      summary: 'A projection parked an event it failed on (also in rm.dead_letters).',
      data: toJsonSchema(parkedEvent),
    },
  ];
}
