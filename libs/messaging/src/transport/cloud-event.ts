import type { RecordedEvent } from '@hyperfleet/event-store';
import { formatLogPosition } from '@hyperfleet/event-store';
import type { CloudEvent, JsonObject, TransportRecord } from './event-transport';

export const EVENT_SOURCE = 'urn:hyperfleet:event-store';

/**
 * The partition key of a stored event: the device it concerns (`metadata.deviceId`, set by the
 * command side for every device stream), else its stream, so a rollout's events stay together.
 */
export function partitionKey(e: Pick<RecordedEvent, 'streamId' | 'metadata'>): string {
  const deviceId = e.metadata?.deviceId;
  return typeof deviceId === 'string' && deviceId ? deviceId : e.streamId;
}

export function toCloudEvent(e: RecordedEvent): CloudEvent {
  const ce: CloudEvent = {
    specversion: '1.0',
    id: e.messageId,
    source: EVENT_SOURCE,
    type: e.type,
    subject: e.streamId,
    time: e.recordedAt.toISOString(),
    datacontenttype: 'application/json',
    data: e.data as JsonObject,
    hfstream: e.streamId,
    hfstreamposition: e.streamPosition.toString(),
    hflogposition: formatLogPosition(e),
    hfschemaversion: e.schemaVersion,
    ...(e.correlationId ? { hfcorrelationid: e.correlationId } : {}),
    ...(e.causationId ? { hfcausationid: e.causationId } : {}),
  };
  return ce;
}

export function toTransportRecord(e: RecordedEvent): TransportRecord {
  return { key: partitionKey(e), event: toCloudEvent(e) };
}

const CE_REQUIRED = ['specversion', 'id', 'source', 'type'] as const;

/** Parses a structured-mode CloudEvent, refusing anything that is not one. */
export function parseCloudEvent(raw: unknown): CloudEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('CloudEvent must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of CE_REQUIRED) {
    if (typeof o[k] !== 'string' || !o[k]) throw new Error(`CloudEvent attribute ${k} is missing`);
  }
  if (o.specversion !== '1.0')
    throw new Error(`unsupported CloudEvents specversion ${String(o.specversion)}`);
  if (typeof o.data !== 'object' || o.data === null) throw new Error('CloudEvent data must be a JSON object');
  return o as unknown as CloudEvent;
}
