import type {
  BoardInventoryReported,
  DeviceAttributesChanged,
  DeviceLabelsUpdated,
  DeviceModelHealthChanged,
  DeviceProvisioned,
  DeviceWentOffline,
  DeviceWentOnline,
  HypervisorEvent,
  HypervisorVersionReported,
  PartitionPlanAssigned,
  PartitionPlanReported,
  RtVmEvent,
  RtVmLatencyBudgetChanged,
  RtVmLatencyReported,
  RtVmRegistered,
  RtVmStateReported,
  RtVmTripleFaulted,
  ServiceVmBooted,
  ServiceVmEvent,
  ServiceVmOsImageChanged,
  VmEvent,
  VmRegistered,
  VmStateReported,
  VmTripleFaulted,
} from '@hyperfleet/domain';
import type { ProjectedEvent } from '../framework/projection';

/**
 * The pure half of the `fleet-inventory` projection: a batch of events folded, in order, into one
 * patch per device row and one per VM row. A patch holds only the columns the batch changed (a key
 * set to null clears the column; a missing key leaves it), so the SQL half can apply every patch of a
 * table in one statement. Besides column names, a patch carries:
 *
 * - `hypervisor_stream_version` / `service_vm_stream_version` / `stream_version`: the last stream
 *   position folded in. Columns of a stream change only if the patch is newer than the row, so a
 *   stale or repeated event never moves the inventory back.
 * - merge-by-max columns (`last_seen_at`, `went_online_at`, `went_offline_at`, `last_event_at`):
 *   the SQL keeps the greater of row and patch, whatever order they come in.
 * - increments (`service_vm_boots_add`, `budget_breaches_add`) when the batch does not know the
 *   absolute value; `budget_breaches` when it does (a registration in the batch reset it).
 * - `clear_stop`: a power-off (or triple fault) the batch cannot resolve on its own; it ends a pending
 *   `stop` of the row but not a `reset` (as RtVm's evolve does).
 * - `vms`: the device's RT VM summary has to be recomputed from its VM rows.
 */
export type Patch = Record<string, unknown>;

export interface InventoryPatches {
  readonly devices: Patch[];
  readonly vms: Patch[];
}

export const HYPERVISOR_EVENT_TYPES = [
  'DeviceProvisioned',
  'DeviceLabelsUpdated',
  'DeviceAttributesChanged',
  'BoardInventoryReported',
  'HypervisorVersionReported',
  'DeviceWentOnline',
  'DeviceWentOffline',
  'PartitionPlanAssigned',
  'PartitionPlanReported',
] as const satisfies readonly HypervisorEvent['type'][];

export const SERVICE_VM_EVENT_TYPES = [
  'ServiceVmBooted',
  'ServiceVmOsImageChanged',
  'ServiceVmRebootRequested',
  'ServiceVmShutdownRequested',
  'ServiceVmShuttingDown',
  'DeviceModelHealthChanged',
] as const satisfies readonly ServiceVmEvent['type'][];

export const RT_VM_EVENT_TYPES = [
  'RtVmRegistered',
  'RtVmStarted',
  'RtVmStopRequested',
  'RtVmResetRequested',
  'RtVmDeleted',
  'RtVmStateReported',
  'RtVmPoweredOff',
  'RtVmTripleFaulted',
  'RtVmLatencyReported',
  'RtVmLatencyBudgetBreached',
  'RtVmLatencyBudgetChanged',
] as const satisfies readonly RtVmEvent['type'][];

/** VMs that are not RTVMs (stream `vm-…`): standard VMs and the Service VM, in the same VM rows. */
export const VM_EVENT_TYPES = [
  'VmRegistered',
  'VmStateReported',
  'VmPoweredOff',
  'VmTripleFaulted',
] as const satisfies readonly VmEvent['type'][];

export const INVENTORY_EVENT_TYPES: readonly string[] = [
  ...HYPERVISOR_EVENT_TYPES,
  ...SERVICE_VM_EVENT_TYPES,
  ...RT_VM_EVENT_TYPES,
  ...VM_EVENT_TYPES,
];

const HYPERVISOR = new Set<string>(HYPERVISOR_EVENT_TYPES);
const SERVICE_VM = new Set<string>(SERVICE_VM_EVENT_TYPES);
const RT_VM = new Set<string>(RT_VM_EVENT_TYPES);
const VM = new Set<string>(VM_EVENT_TYPES);

/** RT VM facts that come from the device (the agent), so they count as "seen". */
const RT_VM_DEVICE_FACTS = new Set<string>([
  'RtVmStateReported',
  'RtVmPoweredOff',
  'RtVmTripleFaulted',
  'RtVmLatencyReported',
  'RtVmLatencyBudgetBreached',
]);

/** Thrown for an event of a handled type whose data lacks what the projection needs (the runner parks it). */
export class MalformedInventoryEventError extends Error {
  constructor(e: ProjectedEvent, problem: string) {
    super(`${e.type} ${e.streamId}@${e.streamPosition}: ${problem}`);
    this.name = 'MalformedInventoryEventError';
  }
}

function later(a: unknown, b: string): boolean {
  return typeof a !== 'string' || Date.parse(b) > Date.parse(a);
}

/** Keeps the later of the patch's value and `at` (ISO strings, compared as instants). */
function max(p: Patch, key: string, at: unknown): void {
  if (typeof at === 'string' && later(p[key], at)) p[key] = at;
}

function version(p: Patch, key: string, position: number): void {
  const v = p[key];
  if (typeof v !== 'number' || position > v) p[key] = position;
}

function text(e: ProjectedEvent, key: string): string {
  const v = e.data[key];
  if (typeof v !== 'string' || v.length === 0)
    throw new MalformedInventoryEventError(e, `data.${key} is missing`);
  return v;
}

/** When it happened: the fact's own time, or when the store recorded it. */
function eventTime(e: ProjectedEvent): string {
  return typeof e.data.at === 'string' ? e.data.at : e.time;
}

export function foldInventory(events: readonly ProjectedEvent[]): InventoryPatches {
  const devices = new Map<string, Patch>();
  const vms = new Map<string, Patch>();
  const device = (id: string): Patch => {
    let p = devices.get(id);
    if (!p) devices.set(id, (p = { device_id: id }));
    return p;
  };
  const vm = (deviceId: string, vmName: string): Patch => {
    const key = `${deviceId}\u0000${vmName}`;
    let p = vms.get(key);
    if (!p) vms.set(key, (p = { device_id: deviceId, vm_name: vmName }));
    return p;
  };

  for (const e of events) {
    if (HYPERVISOR.has(e.type)) {
      const d = device(text(e, 'deviceId'));
      version(d, 'hypervisor_stream_version', e.streamPosition);
      max(d, 'last_event_at', eventTime(e));
      foldHypervisor(d, e.type, e.data as HypervisorEvent['data']);
    } else if (SERVICE_VM.has(e.type)) {
      const d = device(text(e, 'deviceId'));
      version(d, 'service_vm_stream_version', e.streamPosition);
      max(d, 'last_event_at', eventTime(e));
      foldServiceVm(d, e.type, e.data as ServiceVmEvent['data']);
    } else if (RT_VM.has(e.type)) {
      const deviceId = text(e, 'deviceId');
      const v = vm(deviceId, text(e, 'vmName'));
      version(v, 'stream_version', e.streamPosition);
      max(v, 'last_event_at', eventTime(e));
      foldRtVm(v, e.type, e.data as RtVmEvent['data']);
      const d = device(deviceId);
      d.vms = true;
      max(d, 'last_event_at', eventTime(e));
      if (RT_VM_DEVICE_FACTS.has(e.type)) max(d, 'last_seen_at', e.data.at);
    } else if (VM.has(e.type)) {
      const deviceId = text(e, 'deviceId');
      const v = vm(deviceId, text(e, 'vmName'));
      version(v, 'stream_version', e.streamPosition);
      max(v, 'last_event_at', eventTime(e));
      foldVm(v, e.type, e.data as VmEvent['data']);
      const d = device(deviceId);
      d.vms = true;
      max(d, 'last_event_at', eventTime(e));
      if (e.type !== 'VmRegistered') max(d, 'last_seen_at', e.data.at);
    }
  }
  return { devices: [...devices.values()], vms: [...vms.values()] };
}

function foldHypervisor(d: Patch, type: string, data: HypervisorEvent['data']): void {
  switch (type) {
    case 'DeviceProvisioned': {
      const x = data as DeviceProvisioned['data'];
      Object.assign(d, { device_class: x.deviceClass, site: x.site, tags: x.tags, provisioned_at: x.at });
      return;
    }
    case 'DeviceLabelsUpdated': {
      const x = data as DeviceLabelsUpdated['data'];
      Object.assign(d, { site: x.site, tags: x.tags });
      return;
    }
    case 'DeviceAttributesChanged':
      // The event carries the full map after the change, so the latest one is the column.
      d.attributes = (data as DeviceAttributesChanged['data']).attributes ?? {};
      return;
    case 'BoardInventoryReported': {
      const x = data as BoardInventoryReported['data'];
      Object.assign(d, {
        board_name: x.board?.name ?? null,
        board_cpu_model: x.board?.cpuModel ?? null,
        pcpu_count: Array.isArray(x.board?.pcpus) ? x.board.pcpus.length : null,
        board_reported_at: x.at,
      });
      max(d, 'last_seen_at', x.at);
      return;
    }
    case 'HypervisorVersionReported': {
      const x = data as HypervisorVersionReported['data'];
      Object.assign(d, {
        hypervisor_version: x.version,
        hypervisor_scenario: x.scenario,
        hypervisor_reported_at: x.at,
      });
      max(d, 'last_seen_at', x.at);
      return;
    }
    case 'DeviceWentOnline': {
      const x = data as DeviceWentOnline['data'];
      Object.assign(d, { connectivity: 'online', connectivity_since: x.at });
      max(d, 'went_online_at', x.at);
      max(d, 'last_seen_at', x.at);
      return;
    }
    case 'DeviceWentOffline': {
      const x = data as DeviceWentOffline['data'];
      Object.assign(d, { connectivity: 'offline', connectivity_since: x.at });
      max(d, 'went_offline_at', x.at);
      max(d, 'last_seen_at', x.lastSeenAt);
      return;
    }
    case 'PartitionPlanAssigned': {
      const x = data as PartitionPlanAssigned['data'];
      Object.assign(d, {
        desired_plan_id: x.planId,
        desired_plan_revision: x.revision,
        desired_plan_assigned_at: x.at,
        desired_plan_warnings: Array.isArray(x.warnings) ? x.warnings.length : 0,
      });
      return;
    }
    case 'PartitionPlanReported': {
      const x = data as PartitionPlanReported['data'];
      Object.assign(d, {
        reported_plan_id: x.planId,
        reported_plan_revision: x.revision,
        reported_plan_at: x.at,
      });
      max(d, 'last_seen_at', x.at);
      return;
    }
  }
}

function foldServiceVm(d: Patch, type: string, data: ServiceVmEvent['data']): void {
  const at = (data as { at?: string }).at;
  switch (type) {
    case 'ServiceVmBooted': {
      const x = data as ServiceVmBooted['data'];
      Object.assign(d, {
        service_vm_os_image_version: x.osImageVersion,
        service_vm_kernel_version: x.kernelVersion ?? null,
        service_vm_booted_at: x.at,
        service_vm_lifecycle: 'running',
        service_vm_lifecycle_since: x.at,
      });
      d.service_vm_boots_add = ((d.service_vm_boots_add as number | undefined) ?? 0) + 1;
      max(d, 'last_seen_at', x.at);
      return;
    }
    case 'ServiceVmOsImageChanged': {
      const x = data as ServiceVmOsImageChanged['data'];
      Object.assign(d, {
        service_vm_previous_os_image_version: x.from,
        service_vm_os_image_changed_at: x.at,
      });
      return;
    }
    case 'ServiceVmRebootRequested':
      Object.assign(d, { service_vm_lifecycle: 'reboot-requested', service_vm_lifecycle_since: at });
      return;
    case 'ServiceVmShutdownRequested':
      Object.assign(d, { service_vm_lifecycle: 'shutdown-requested', service_vm_lifecycle_since: at });
      return;
    case 'ServiceVmShuttingDown':
      Object.assign(d, { service_vm_lifecycle: 'shutting-down', service_vm_lifecycle_since: at });
      max(d, 'last_seen_at', at);
      return;
    case 'DeviceModelHealthChanged': {
      const x = data as DeviceModelHealthChanged['data'];
      Object.assign(d, {
        device_model_health: x.health,
        device_model_health_since: x.at,
        device_model_detail: x.detail ?? null,
      });
      max(d, 'last_seen_at', x.at);
      return;
    }
  }
}

/** A power-off or triple fault ends a pending stop; a pending reset goes on (it starts the VM again). */
function endStop(v: Patch): void {
  if ('pending_operation' in v) {
    if (v.pending_operation !== 'reset') Object.assign(v, { pending_operation: null, pending_since: null });
  } else {
    v.clear_stop = true;
  }
}

function foldRtVm(v: Patch, type: string, data: RtVmEvent['data']): void {
  const at = (data as { at?: string }).at ?? null;
  switch (type) {
    case 'RtVmRegistered': {
      const x = data as RtVmRegistered['data'];
      // A new registration starts afresh, except for the fault history (as RtVm's evolve keeps it).
      Object.assign(v, {
        registered: true,
        vm_type: 'RTVM',
        load_order: x.loadOrder,
        pinned_pcpus: x.pinnedPcpus,
        latency_budget_us: x.latencyBudgetUs,
        state: x.state,
        registered_at: x.at,
        deleted_at: null,
        pending_operation: null,
        pending_since: null,
        last_worst_case_us: null,
        last_latency_at: null,
        budget_breaches: 0,
        last_breach_at: null,
      });
      delete v.budget_breaches_add;
      delete v.clear_stop;
      return;
    }
    case 'RtVmStarted':
      v.state = 'started';
      return;
    case 'RtVmStopRequested':
      Object.assign(v, { pending_operation: 'stop', pending_since: at });
      return;
    case 'RtVmResetRequested':
      Object.assign(v, { pending_operation: 'reset', pending_since: at });
      return;
    case 'RtVmDeleted':
      Object.assign(v, {
        registered: false,
        state: 'unknown',
        pending_operation: null,
        pending_since: null,
        deleted_at: at,
      });
      delete v.clear_stop;
      return;
    case 'RtVmStateReported':
      // Authoritative: the state is what the agent saw, and nothing is pending any more.
      Object.assign(v, {
        state: (data as RtVmStateReported['data']).state,
        pending_operation: null,
        pending_since: null,
      });
      delete v.clear_stop;
      return;
    case 'RtVmPoweredOff':
      v.state = 'stopped';
      endStop(v);
      return;
    case 'RtVmTripleFaulted': {
      const x = data as RtVmTripleFaulted['data'];
      v.state = 'stopped';
      endStop(v);
      Object.assign(v, { triple_faults: x.tripleFaults, last_triple_fault_at: x.at });
      return;
    }
    case 'RtVmLatencyReported': {
      const x = data as RtVmLatencyReported['data'];
      Object.assign(v, { last_worst_case_us: x.worstCaseUs, last_latency_at: x.at });
      return;
    }
    case 'RtVmLatencyBudgetBreached':
      if (typeof v.budget_breaches === 'number') v.budget_breaches += 1;
      else v.budget_breaches_add = ((v.budget_breaches_add as number | undefined) ?? 0) + 1;
      v.last_breach_at = at;
      return;
    case 'RtVmLatencyBudgetChanged':
      v.latency_budget_us = (data as RtVmLatencyBudgetChanged['data']).budgetUs;
      return;
  }
}

/** A VM that is not an RTVM: no pending operations, budget or latency; its pCPUs in pinned_pcpus. */
function foldVm(v: Patch, type: string, data: VmEvent['data']): void {
  switch (type) {
    case 'VmRegistered': {
      const x = data as VmRegistered['data'];
      Object.assign(v, {
        registered: true,
        vm_type: x.vmType,
        load_order: x.loadOrder,
        pinned_pcpus: x.pcpus,
        state: x.state,
        registered_at: x.at,
        deleted_at: null,
      });
      return;
    }
    case 'VmStateReported':
      v.state = (data as VmStateReported['data']).state;
      return;
    case 'VmPoweredOff':
      v.state = 'stopped';
      return;
    case 'VmTripleFaulted': {
      const x = data as VmTripleFaulted['data'];
      Object.assign(v, { state: 'stopped', triple_faults: x.tripleFaults, last_triple_fault_at: x.at });
      return;
    }
  }
}
