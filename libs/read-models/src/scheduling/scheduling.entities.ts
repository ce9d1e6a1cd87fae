import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Violation } from '@hyperfleet/acrn';
import type { PcpuOwner, PinningCheck, VcpuAllocation } from './derive';

/** A plan revision's content, kept by the projection (from PartitionPlanCreated / PartitionPlanRevised). */
@Entity({ schema: 'rm', name: 'sched_plan_revisions' })
export class SchedPlanRevisionRow {
  @PrimaryColumn({ name: 'plan_id', type: 'text' }) planId!: string;
  @PrimaryColumn({ type: 'integer' }) revision!: number;
  @Column({ name: 'device_class', type: 'text', nullable: true }) deviceClass!: string | null;
  @Column({ type: 'jsonb' }) plan!: Record<string, unknown>;
  @Column({ name: 'recorded_at', type: 'timestamptz' }) recordedAt!: Date;
}

/** One device: assigned vs reported plan, the board, validation of the assigned plan and drift. */
@Entity({ schema: 'rm', name: 'sched_devices' })
export class SchedDeviceRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'device_class', type: 'text', nullable: true }) deviceClass!: string | null;
  @Column({ type: 'text', nullable: true }) site!: string | null;
  @Column({ type: 'text', array: true }) tags!: string[];
  @Column({ type: 'jsonb', nullable: true }) board!: Record<string, unknown> | null;
  @Column({ name: 'board_name', type: 'text', nullable: true }) boardName!: string | null;
  @Column({ name: 'board_reported_at', type: 'timestamptz', nullable: true }) boardReportedAt!: Date | null;
  @Column({ name: 'assigned_plan_id', type: 'text', nullable: true }) assignedPlanId!: string | null;
  @Column({ name: 'assigned_revision', type: 'integer', nullable: true }) assignedRevision!: number | null;
  @Column({ name: 'assigned_at', type: 'timestamptz', nullable: true }) assignedAt!: Date | null;
  @Column({ name: 'assigned_warnings', type: 'jsonb' }) assignedWarnings!: Violation[];
  @Column({ name: 'reported_plan_id', type: 'text', nullable: true }) reportedPlanId!: string | null;
  @Column({ name: 'reported_revision', type: 'integer', nullable: true }) reportedRevision!: number | null;
  @Column({ name: 'reported_at', type: 'timestamptz', nullable: true }) reportedAt!: Date | null;
  @Column({ name: 'plan_status', type: 'text' }) planStatus!: string;
  @Column({ name: 'assigned_plan_known', type: 'boolean' }) assignedPlanKnown!: boolean;
  @Column({ name: 'reported_plan_known', type: 'boolean' }) reportedPlanKnown!: boolean;
  @Column({ name: 'assigned_clos_needed', type: 'integer', nullable: true }) assignedClosNeeded!:
    number | null;
  @Column({ name: 'reported_clos_needed', type: 'integer', nullable: true }) reportedClosNeeded!:
    number | null;
  @Column({ name: 'clos_available', type: 'integer', nullable: true }) closAvailable!: number | null;
  @Column({ type: 'jsonb' }) violations!: Violation[];
  @Column({ name: 'error_count', type: 'integer' }) errorCount!: number;
  @Column({ name: 'warning_count', type: 'integer' }) warningCount!: number;
  @Column({ type: 'boolean' }) drift!: boolean;
  @Column({ name: 'drift_reasons', type: 'text', array: true }) driftReasons!: string[];
  @Column({ name: 'rt_pinning', type: 'jsonb' }) rtPinning!: PinningCheck[];
  @Column({ name: 'pinning_mismatch', type: 'boolean' }) pinningMismatch!: boolean;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One pCPU of a device under the assigned or the reported plan (`source`), and the VMs on it. */
@Entity({ schema: 'rm', name: 'sched_pcpus' })
export class SchedPcpuRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ type: 'text' }) source!: 'assigned' | 'reported';
  @PrimaryColumn({ name: 'pcpu_id', type: 'integer' }) pcpuId!: number;
  @Column({ name: 'on_board', type: 'boolean' }) onBoard!: boolean;
  @Column({ name: 'core_id', type: 'integer', nullable: true }) coreId!: number | null;
  @Column({ name: 'vm_names', type: 'text', array: true }) vmNames!: string[];
  @Column({ type: 'jsonb' }) owners!: PcpuOwner[];
  @Column({ type: 'boolean' }) shared!: boolean;
}

/** One VM of the assigned or the reported plan on a device: its pCPUs and the CLOS of each vCPU. */
@Entity({ schema: 'rm', name: 'sched_vms' })
export class SchedVmRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ type: 'text' }) source!: 'assigned' | 'reported';
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @Column({ name: 'vm_id', type: 'integer' }) vmId!: number;
  @Column({ name: 'load_order', type: 'text' }) loadOrder!: string;
  @Column({ name: 'vm_type', type: 'text' }) vmType!: string;
  @Column({ name: 'lapic_passthrough', type: 'boolean' }) lapicPassthrough!: boolean;
  @Column({ name: 'implicit_affinity', type: 'boolean' }) implicitAffinity!: boolean;
  @Column({ type: 'integer', array: true }) pcpus!: number[];
  @Column({ type: 'jsonb' }) vcpus!: VcpuAllocation[];
}

/** The pCPUs an RTVM registered with (RtVmRegistered), until it is deleted. */
@Entity({ schema: 'rm', name: 'sched_rtvm_pinning' })
export class SchedRtVmPinningRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  @Column({ name: 'load_order', type: 'text' }) loadOrder!: string;
  @Column({ name: 'pinned_pcpus', type: 'integer', array: true }) pinnedPcpus!: number[];
  @Column({ name: 'registered_at', type: 'timestamptz' }) registeredAt!: Date;
}

export const SCHEDULING_ENTITIES = [
  SchedPlanRevisionRow,
  SchedDeviceRow,
  SchedPcpuRow,
  SchedVmRow,
  SchedRtVmPinningRow,
];
