import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ schema: 'rm', name: 'ota_devices' })
export class OtaDeviceRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'device_class', type: 'text', nullable: true }) deviceClass!: string | null;
  @Column({ type: 'text', nullable: true }) site!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** What a device runs and should run, per artefact (`vmName` is '' unless the artefact is per VM). */
@Entity({ schema: 'rm', name: 'ota_targets' })
export class OtaTargetRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'target_kind', type: 'text' }) targetKind!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @Column({ name: 'reported_version', type: 'text', nullable: true }) reportedVersion!: string | null;
  @Column({ name: 'reported_at', type: 'timestamptz', nullable: true }) reportedAt!: Date | null;
  @Column({ name: 'desired_version', type: 'text', nullable: true }) desiredVersion!: string | null;
  /** The event type that set the desired version. */
  @Column({ name: 'desired_source', type: 'text', nullable: true }) desiredSource!: string | null;
  @Column({ name: 'desired_at', type: 'timestamptz', nullable: true }) desiredAt!: Date | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ schema: 'rm', name: 'ota_version_counts' })
export class OtaVersionCountRow {
  @PrimaryColumn({ name: 'target_kind', type: 'text' }) targetKind!: string;
  @PrimaryColumn({ type: 'text' }) version!: string;
  @Column({ type: 'integer' }) reported!: number;
  @Column({ type: 'integer' }) desired!: number;
}

/** The latest update-progress record of a device's artefact (from the telemetry channel). */
@Entity({ schema: 'rm', name: 'ota_update_progress' })
export class OtaUpdateProgressRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'target_kind', type: 'text' }) targetKind!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @Column({ type: 'text' }) version!: string;
  @Column({ name: 'from_version', type: 'text', nullable: true }) fromVersion!: string | null;
  @Column({ type: 'text' }) stage!: string;
  @Column({ type: 'double precision', nullable: true }) percent!: number | null;
  @Column({ name: 'rollout_id', type: 'text' }) rolloutId!: string;
  @Column({ name: 'desired_state_version', type: 'integer', nullable: true }) desiredStateVersion!:
    number | null;
  @Column({ name: 'error_code', type: 'text', nullable: true }) errorCode!: string | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage!: string | null;
  @Column({ type: 'bigint' }) epoch!: string;
  @Column({ type: 'bigint' }) seq!: string;
  @Column({ name: 'record_id', type: 'text' }) recordId!: string;
  @Column({ name: 'reported_at', type: 'timestamptz' }) reportedAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ schema: 'rm', name: 'ota_progress_seen' })
export class OtaProgressSeenRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ type: 'bigint' }) epoch!: string;
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @Column({ name: 'seen_at', type: 'timestamptz' }) seenAt!: Date;
}

export const OTA_ENTITIES = [
  OtaDeviceRow,
  OtaTargetRow,
  OtaVersionCountRow,
  OtaUpdateProgressRow,
  OtaProgressSeenRow,
];
