import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row per device: what it is, where it is, what it runs and how it is doing, folded from its
 * Hypervisor and ServiceVm streams and summed over its RT VMs (projection `fleet-inventory`).
 * A row exists once any event of the device was seen; the API lists only provisioned ones.
 */
@Entity({ schema: 'rm', name: 'inventory_devices' })
export class InventoryDeviceRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'device_class', type: 'text', nullable: true }) deviceClass!: string | null;
  @Column({ type: 'text', nullable: true }) site!: string | null;
  @Column({ type: 'text', array: true }) tags!: string[];
  /** Free-form inventory attributes (DeviceAttributesChanged): key → string value. */
  @Column({ type: 'jsonb', default: () => "'{}'" }) attributes!: Record<string, string>;
  @Column({ name: 'provisioned_at', type: 'timestamptz', nullable: true }) provisionedAt!: Date | null;

  @Column({ name: 'board_name', type: 'text', nullable: true }) boardName!: string | null;
  @Column({ name: 'board_cpu_model', type: 'text', nullable: true }) boardCpuModel!: string | null;
  @Column({ name: 'pcpu_count', type: 'integer', nullable: true }) pcpuCount!: number | null;
  @Column({ name: 'board_reported_at', type: 'timestamptz', nullable: true }) boardReportedAt!: Date | null;

  @Column({ name: 'hypervisor_version', type: 'text', nullable: true }) hypervisorVersion!: string | null;
  @Column({ name: 'hypervisor_scenario', type: 'text', nullable: true }) hypervisorScenario!: string | null;
  @Column({ name: 'hypervisor_reported_at', type: 'timestamptz', nullable: true })
  hypervisorReportedAt!: Date | null;

  @Column({ name: 'service_vm_os_image_version', type: 'text', nullable: true })
  serviceVmOsImageVersion!: string | null;
  @Column({ name: 'service_vm_kernel_version', type: 'text', nullable: true })
  serviceVmKernelVersion!: string | null;
  @Column({ name: 'service_vm_booted_at', type: 'timestamptz', nullable: true })
  serviceVmBootedAt!: Date | null;
  @Column({ name: 'service_vm_boots', type: 'integer' }) serviceVmBoots!: number;
  @Column({ name: 'service_vm_previous_os_image_version', type: 'text', nullable: true })
  serviceVmPreviousOsImageVersion!: string | null;
  @Column({ name: 'service_vm_os_image_changed_at', type: 'timestamptz', nullable: true })
  serviceVmOsImageChangedAt!: Date | null;
  @Column({ name: 'service_vm_lifecycle', type: 'text', nullable: true }) serviceVmLifecycle!: string | null;
  @Column({ name: 'service_vm_lifecycle_since', type: 'timestamptz', nullable: true })
  serviceVmLifecycleSince!: Date | null;
  @Column({ name: 'device_model_health', type: 'text', nullable: true }) deviceModelHealth!: string | null;
  @Column({ name: 'device_model_health_since', type: 'timestamptz', nullable: true })
  deviceModelHealthSince!: Date | null;
  @Column({ name: 'device_model_detail', type: 'text', nullable: true }) deviceModelDetail!: string | null;

  /** `never-seen`, `online` or `offline`. */
  @Column({ type: 'text' }) connectivity!: string;
  @Column({ name: 'connectivity_since', type: 'timestamptz', nullable: true })
  connectivitySince!: Date | null;
  @Column({ name: 'went_online_at', type: 'timestamptz', nullable: true }) wentOnlineAt!: Date | null;
  @Column({ name: 'went_offline_at', type: 'timestamptz', nullable: true }) wentOfflineAt!: Date | null;
  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true }) lastSeenAt!: Date | null;

  @Column({ name: 'desired_plan_id', type: 'text', nullable: true }) desiredPlanId!: string | null;
  @Column({ name: 'desired_plan_revision', type: 'integer', nullable: true })
  desiredPlanRevision!: number | null;
  @Column({ name: 'desired_plan_assigned_at', type: 'timestamptz', nullable: true })
  desiredPlanAssignedAt!: Date | null;
  @Column({ name: 'desired_plan_warnings', type: 'integer', nullable: true })
  desiredPlanWarnings!: number | null;
  @Column({ name: 'reported_plan_id', type: 'text', nullable: true }) reportedPlanId!: string | null;
  @Column({ name: 'reported_plan_revision', type: 'integer', nullable: true })
  reportedPlanRevision!: number | null;
  @Column({ name: 'reported_plan_at', type: 'timestamptz', nullable: true }) reportedPlanAt!: Date | null;

  /** Registered RT VMs. */
  @Column({ name: 'rt_vm_count', type: 'integer' }) rtVmCount!: number;
  @Column({ name: 'rt_vms_started', type: 'integer' }) rtVmsStarted!: number;
  /** RT VMs whose latest worst-case latency is above their current budget. */
  @Column({ name: 'rt_vms_over_budget', type: 'integer' }) rtVmsOverBudget!: number;
  @Column({ name: 'rt_over_budget', type: 'boolean' }) rtOverBudget!: boolean;
  /** The highest of the RT VMs' latest worst-case latencies (µs). */
  @Column({ name: 'rt_worst_case_us', type: 'double precision', nullable: true }) rtWorstCaseUs!:
    number | null;
  @Column({ name: 'rt_latency_reported_at', type: 'timestamptz', nullable: true })
  rtLatencyReportedAt!: Date | null;
  @Column({ name: 'rt_budget_breaches', type: 'integer' }) rtBudgetBreaches!: number;
  @Column({ name: 'rt_triple_faults', type: 'integer' }) rtTripleFaults!: number;

  /** Last applied position of `hypervisor-<id>` / `service-vm-<id>`: older facts never overwrite newer. */
  @Column({ name: 'hypervisor_stream_version', type: 'bigint' }) hypervisorStreamVersion!: string;
  @Column({ name: 'service_vm_stream_version', type: 'bigint' }) serviceVmStreamVersion!: string;
  @Column({ name: 'last_event_at', type: 'timestamptz', nullable: true }) lastEventAt!: Date | null;
}

/** One row per RT VM of a device (stream `rt-vm-<deviceId>.<vmName>`); deleted VMs keep their row. */
@Entity({ schema: 'rm', name: 'inventory_device_vms' })
export class InventoryDeviceVmRow {
  @PrimaryColumn({ name: 'device_id', type: 'text' }) deviceId!: string;
  @PrimaryColumn({ name: 'vm_name', type: 'text' }) vmName!: string;
  /** False after RtVmDeleted (until registered again). */
  @Column({ type: 'boolean' }) registered!: boolean;
  /** ACRN's vm_type: RTVM (stream rt-vm-…), else STANDARD_VM, TEE_VM or REE_VM (stream vm-…). */
  @Column({ name: 'vm_type', type: 'text', nullable: true }) vmType!: string | null;
  @Column({ name: 'load_order', type: 'text', nullable: true }) loadOrder!: string | null;
  /** acrnctl's state: stopped, started, suspended, untracked, unknown. */
  @Column({ type: 'text', nullable: true }) state!: string | null;
  @Column({ name: 'pending_operation', type: 'text', nullable: true }) pendingOperation!: string | null;
  @Column({ name: 'pending_since', type: 'timestamptz', nullable: true }) pendingSince!: Date | null;
  @Column({ name: 'pinned_pcpus', type: 'integer', array: true }) pinnedPcpus!: number[];
  @Column({ name: 'latency_budget_us', type: 'double precision', nullable: true })
  latencyBudgetUs!: number | null;
  @Column({ name: 'last_worst_case_us', type: 'double precision', nullable: true })
  lastWorstCaseUs!: number | null;
  @Column({ name: 'last_latency_at', type: 'timestamptz', nullable: true }) lastLatencyAt!: Date | null;
  @Column({ name: 'budget_breaches', type: 'integer' }) budgetBreaches!: number;
  @Column({ name: 'last_breach_at', type: 'timestamptz', nullable: true }) lastBreachAt!: Date | null;
  @Column({ name: 'triple_faults', type: 'integer' }) tripleFaults!: number;
  @Column({ name: 'last_triple_fault_at', type: 'timestamptz', nullable: true })
  lastTripleFaultAt!: Date | null;
  @Column({ name: 'registered_at', type: 'timestamptz', nullable: true }) registeredAt!: Date | null;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
  @Column({ name: 'stream_version', type: 'bigint' }) streamVersion!: string;
  @Column({ name: 'last_event_at', type: 'timestamptz', nullable: true }) lastEventAt!: Date | null;
}

export const INVENTORY_ENTITIES = [InventoryDeviceRow, InventoryDeviceVmRow];
