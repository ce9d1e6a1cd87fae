import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One VM of one device over one minute: sums and extremes, and the latency histogram. */
@Entity({ schema: 'rm', name: 'telemetry_minute' })
@Index('telemetry_minute_latency_idx', ['minute'], { where: 'lat_max IS NOT NULL' })
export class TelemetryMinuteRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @PrimaryColumn({ type: 'timestamptz' }) minute!: Date;
  @Column({ type: 'bigint' }) samples!: string;
  @Column({ name: 'cpu_sum', type: 'double precision' }) cpuSum!: number;
  @Column({ name: 'cpu_max', type: 'double precision', nullable: true }) cpuMax!: number | null;
  @Column({ name: 'mem_sum', type: 'double precision' }) memSum!: number;
  @Column({ name: 'mem_max', type: 'bigint', nullable: true }) memMax!: string | null;
  @Column({ name: 'lat_obs', type: 'bigint' }) latObs!: string;
  @Column({ name: 'lat_sum', type: 'double precision' }) latSum!: number;
  @Column({ name: 'lat_min', type: 'double precision', nullable: true }) latMin!: number | null;
  @Column({ name: 'lat_max', type: 'double precision', nullable: true }) latMax!: number | null;
  /** Counts in the layout of LATENCY_BUCKET_EDGES_US. */
  @Column({ type: 'bigint', array: true, nullable: true }) hist!: string[] | null;
  @Column({ type: 'bigint' }) overflow!: string;
  @Column({ name: 'health_reports', type: 'bigint' }) healthReports!: string;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** Per device: the telemetry channel's dedupe window and counters. */
@Entity({ schema: 'rm', name: 'telemetry_ingest_state' })
export class TelemetryIngestStateRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ type: 'bigint' }) epoch!: string;
  @Column({ type: 'bigint' }) hwm!: string;
  @Column({ type: 'bytea', nullable: true }) seen!: Buffer | null;
  @Column({ type: 'bigint' }) records!: string;
  @Column({ type: 'bigint' }) samples!: string;
  @Column({ type: 'bigint' }) duplicates!: string;
  @Column({ type: 'bigint' }) stale!: string;
  @Column({ type: 'bigint' }) invalid!: string;
  @Column({ name: 'dropped_samples', type: 'bigint' }) droppedSamples!: string;
  @Column({ name: 'last_record_at', type: 'timestamptz', nullable: true }) lastRecordAt!: Date | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** An RT VM's latency budget from `validFrom` on (RtVmRegistered, RtVmLatencyBudgetChanged). */
@Entity({ schema: 'rm', name: 'telemetry_rt_budgets' })
export class TelemetryRtBudgetRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @PrimaryColumn({ name: 'valid_from', type: 'timestamptz' }) validFrom!: Date;
  @Column({ name: 'budget_us', type: 'double precision' }) budgetUs!: number;
}

/** A device's class and site, for the SLO view's filters (DeviceProvisioned, DeviceLabelsUpdated). */
@Entity({ schema: 'rm', name: 'telemetry_device_labels' })
@Index('telemetry_device_labels_site_idx', ['site'])
export class TelemetryDeviceLabelRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'device_class', type: 'text' }) deviceClass!: string;
  @Column({ type: 'text' }) site!: string;
}

export const TELEMETRY_ENTITIES = [
  TelemetryMinuteRow,
  TelemetryIngestStateRow,
  TelemetryRtBudgetRow,
  TelemetryDeviceLabelRow,
];
