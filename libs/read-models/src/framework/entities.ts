import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ schema: 'rm', name: 'projection_status' })
export class ProjectionStatusRow {
  @PrimaryColumn({ type: 'text' }) projection!: string;
  @Column({ name: 'events_applied', type: 'bigint' }) eventsApplied!: string;
  @Column({ name: 'last_log_position', type: 'text', nullable: true }) lastLogPosition!: string | null;
  @Column({ name: 'last_event_at', type: 'timestamptz', nullable: true }) lastEventAt!: Date | null;
  @Column({ name: 'rebuilt_at', type: 'timestamptz', nullable: true }) rebuiltAt!: Date | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ schema: 'rm', name: 'dead_letters' })
export class DeadLetterRow {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) projection!: string;
  @Column({ name: 'event_id', type: 'text' }) eventId!: string;
  @Column({ name: 'stream_id', type: 'text' }) streamId!: string;
  @Column({ name: 'stream_position', type: 'bigint' }) streamPosition!: string;
  @Column({ name: 'event_type', type: 'text' }) eventType!: string;
  @Column({ type: 'jsonb' }) event!: Record<string, unknown>;
  @Column({ type: 'text' }) error!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'parked_at', type: 'timestamptz' }) parkedAt!: Date;
}

export const FRAMEWORK_ENTITIES = [ProjectionStatusRow, DeadLetterRow];
