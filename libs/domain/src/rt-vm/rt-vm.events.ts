import { eventFactory, type DomainEvent } from '../shared/event';

/**
 * acrnctl's VM states (misc/services/acrn_manager/acrn_vm_ops.c, state_str): `stopped` is acrnctl's
 * VM_CREATED (added, not running), `started` a running acrn-dm, `suspended` a VM in S3, `untracked` and
 * `unknown` what acrnctl cannot manage or query.
 */
export const ACRNCTL_STATES = ['stopped', 'started', 'suspended', 'untracked', 'unknown'] as const;
export type AcrnctlState = (typeof ACRNCTL_STATES)[number];

/** Where an RTVM comes from: the hypervisor at boot, or the Device Model in the Service VM (acrnctl). */
export const RTVM_LOAD_ORDERS = ['PRE_LAUNCHED_VM', 'POST_LAUNCHED_VM'] as const;
export type RtVmLoadOrder = (typeof RTVM_LOAD_ORDERS)[number];

/** An operation Hyperfleet asked for that completes only when the guest itself powers off. */
export type RtVmPendingOperation = 'stop' | 'reset';

type Ref = { deviceId: string; vmName: string };

export type RtVmRegistered = DomainEvent<
  'RtVmRegistered',
  Ref & {
    loadOrder: RtVmLoadOrder;
    pinnedPcpus: number[];
    latencyBudgetUs: number;
    state: AcrnctlState;
    at: string;
  }
>;
/** `acrnctl start` was accepted for a stopped VM: the Device Model launches it. */
export type RtVmStarted = DomainEvent<'RtVmStarted', Ref & { at: string }>;
/**
 * `acrnctl stop` was accepted. For an RTVM the Device Model only injects the ACPI power button
 * (devicemodel/core/monitor.c handle_stop) and the hypervisor tears the VM down only once the guest
 * powers itself off (VM_READY_TO_POWEROFF): the VM is `stopped` at RtVmPoweredOff, not here.
 */
export type RtVmStopRequested = DomainEvent<'RtVmStopRequested', Ref & { at: string }>;
/** `acrnctl reset` was accepted: a (graceful) stop, a wait of up to 30 s for `stopped`, then a start. */
export type RtVmResetRequested = DomainEvent<'RtVmResetRequested', Ref & { at: string }>;
/** `acrnctl del` was accepted: the VM's launch configuration is removed. It may be registered again. */
export type RtVmDeleted = DomainEvent<'RtVmDeleted', Ref & { at: string }>;
/** The acrnctl state the agent observed; authoritative over what Hyperfleet expected. */
export type RtVmStateReported = DomainEvent<
  'RtVmStateReported',
  Ref & { state: AcrnctlState; previousState: AcrnctlState; at: string }
>;
/** The Device Model's VM_EVENT_POWEROFF: the guest powered off. */
export type RtVmPoweredOff = DomainEvent<'RtVmPoweredOff', Ref & { previousState: AcrnctlState; at: string }>;
/**
 * The Device Model's VM_EVENT_TRIPLE_FAULT. The hypervisor then injects an S5 request for a
 * post-launched VM (and shuts a pre-launched one down), so the VM is `stopped` after it.
 */
export type RtVmTripleFaulted = DomainEvent<
  'RtVmTripleFaulted',
  Ref & { previousState: AcrnctlState; tripleFaults: number; at: string }
>;
/** A worst-case latency measurement (cyclictest max) over some window. */
export type RtVmLatencyReported = DomainEvent<
  'RtVmLatencyReported',
  Ref & { worstCaseUs: number; budgetUs: number; at: string }
>;
/** A reported worst-case latency exceeded the VM's budget. Appended together with its RtVmLatencyReported. */
export type RtVmLatencyBudgetBreached = DomainEvent<
  'RtVmLatencyBudgetBreached',
  Ref & { worstCaseUs: number; budgetUs: number; excessUs: number; at: string }
>;
export type RtVmLatencyBudgetChanged = DomainEvent<
  'RtVmLatencyBudgetChanged',
  Ref & { budgetUs: number; previousBudgetUs: number; at: string }
>;

export type RtVmEvent =
  | RtVmRegistered
  | RtVmStarted
  | RtVmStopRequested
  | RtVmResetRequested
  | RtVmDeleted
  | RtVmStateReported
  | RtVmPoweredOff
  | RtVmTripleFaulted
  | RtVmLatencyReported
  | RtVmLatencyBudgetBreached
  | RtVmLatencyBudgetChanged;

export const RT_VM_EVENT_SCHEMA_VERSIONS: { readonly [K in RtVmEvent['type']]: number } = {
  RtVmRegistered: 1,
  RtVmStarted: 1,
  RtVmStopRequested: 1,
  RtVmResetRequested: 1,
  RtVmDeleted: 1,
  RtVmStateReported: 1,
  RtVmPoweredOff: 1,
  RtVmTripleFaulted: 1,
  RtVmLatencyReported: 1,
  RtVmLatencyBudgetBreached: 1,
  RtVmLatencyBudgetChanged: 1,
};

export const rtVmEvent = eventFactory<RtVmEvent>(RT_VM_EVENT_SCHEMA_VERSIONS);
