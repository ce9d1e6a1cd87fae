import type { RecordedEvent } from '@hyperfleet/event-store';
import { formatLogPosition } from '@hyperfleet/event-store';
import type { Delivery } from '@hyperfleet/messaging';
import { partitionKey } from '@hyperfleet/messaging';
import type { ProjectedEvent } from './projection';

export function fromDelivery(d: Delivery): ProjectedEvent | null {
  const e = d.event;
  if (!e.hfstream || e.hfstreamposition === undefined || !e.hflogposition) return null;
  return {
    id: e.id,
    type: e.type,
    streamId: e.hfstream,
    streamPosition: Number(e.hfstreamposition),
    logPosition: e.hflogposition,
    time: e.time,
    data: e.data as Record<string, unknown>,
    key: d.key,
  };
}

export function fromRecorded(e: RecordedEvent): ProjectedEvent {
  return {
    id: e.messageId,
    type: e.type,
    streamId: e.streamId,
    streamPosition: Number(e.streamPosition),
    logPosition: formatLogPosition(e),
    time: e.recordedAt.toISOString(),
    data: e.data as Record<string, unknown>,
    key: partitionKey(e),
  };
}
