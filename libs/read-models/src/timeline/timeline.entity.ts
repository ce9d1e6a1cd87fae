import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One row per event of a device: "what happened to this device, and when". */
@Entity({ schema: 'rm', name: 'device_timeline' })
@Index('device_timeline_device_idx', ['deviceId', 'occurredAt'])
export class DeviceTimelineRow {
  @PrimaryColumn({ name: 'stream_id', type: 'text' }) streamId!: string;
  @PrimaryColumn({ name: 'stream_position', type: 'bigint' }) streamPosition!: string;
  @Column({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'log_position', type: 'text' }) logPosition!: string;
  @Column({ name: 'event_id', type: 'text' }) eventId!: string;
  @Column({ name: 'event_type', type: 'text' }) eventType!: string;
  @Column({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
  @Column({ type: 'jsonb' }) data!: Record<string, unknown>;
}
