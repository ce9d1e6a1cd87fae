/**
 * RtVm (stream `rt-vm-<deviceId>.<vmName>`): one real-time VM of a device, its lifecycle in acrnctl's
 * states, its pinned pCPUs and its latency budget.
 *
 * Lifecycle, as acrnctl (misc/services/acrn_manager/acrnctl.c) and the Device Model allow it:
 * - start needs `stopped`; delete needs `stopped`; reset needs `started` or `suspended`;
 *   stop needs a VM that is not `stopped` (acrnctl: "is already stopped").
 * - A stop of an RTVM is always graceful. The Device Model's handle_stop (devicemodel/core/monitor.c)
 *   powers a VM off directly only for `force && !is_rtvm`; for an RTVM it injects the ACPI power button
 *   whatever `--force` says, and the hypervisor's pause_vm only pauses an RTVM that is powering itself
 *   off (VM_READY_TO_POWEROFF). So StopRtVm with `force` is refused, and a stop (or the stop inside a
 *   reset) stays pending until the guest powers off (RtVmPoweredOff) or the agent reports a state.
 * - Only post-launched RTVMs are managed by acrnctl; a pre-launched RTVM starts and stops with the
 *   hypervisor, so lifecycle commands on it are refused.
 * - While a stop or reset is pending, no other lifecycle command is accepted.
 *
 * Device facts (reported state, power-off, triple fault, latency) are always recorded for a registered
 * VM; a reported state is authoritative and clears a pending operation.
 *
 * Other invariants: pinned pCPUs are distinct, non-empty, and never pCPU 0 (ACRN's cpu_assignment rule);
 * the latency budget is a positive number of µs; a latency report above the budget appends
 * RtVmLatencyBudgetBreached after its RtVmLatencyReported.
 */
import type { HypervisorState } from '../hypervisor/hypervisor.decider';
import { requireProvisioned } from '../hypervisor/hypervisor.decider';
import type { DecideContext, Decider, Decision } from '../shared/decider';
import { jsonEqual } from '../shared/json';
import { reject, type DomainRejection } from '../shared/rejection';
import { DEVICE_ID_PATTERN, VM_NAME_PATTERN, fields } from '../shared/validation';
import type { RtVmCommand } from './rt-vm.commands';
import {
  ACRNCTL_STATES,
  RTVM_LOAD_ORDERS,
  RT_VM_EVENT_SCHEMA_VERSIONS,
  rtVmEvent,
  type AcrnctlState,
  type RtVmEvent,
  type RtVmLoadOrder,
  type RtVmPendingOperation,
} from './rt-vm.events';

export interface RtVmState {
  readonly registered: boolean;
  readonly deviceId: string | null;
  readonly vmName: string | null;
  readonly loadOrder: RtVmLoadOrder | null;
  readonly state: AcrnctlState;
  readonly pending: { readonly operation: RtVmPendingOperation; readonly requestedAt: string } | null;
  readonly pinnedPcpus: readonly number[];
  readonly latency: {
    /** The latency budget in µs (0 until registered). */
    readonly budgetUs: number;
    readonly worstCaseUs: number | null;
    readonly reportedAt: string | null;
    readonly breaches: number;
  };
  readonly tripleFaults: number;
  readonly lastTripleFaultAt: string | null;
}

export function initialRtVmState(): RtVmState {
  return {
    registered: false,
    deviceId: null,
    vmName: null,
    loadOrder: null,
    state: 'unknown',
    pending: null,
    pinnedPcpus: [],
    latency: { budgetUs: 0, worstCaseUs: null, reportedAt: null, breaches: 0 },
    tripleFaults: 0,
    lastTripleFaultAt: null,
  };
}

export function evolveRtVm(state: RtVmState, event: RtVmEvent): RtVmState {
  switch (event.type) {
    case 'RtVmRegistered': {
      const { deviceId, vmName, loadOrder, pinnedPcpus, latencyBudgetUs, state: acrnctl } = event.data;
      return {
        ...initialRtVmState(),
        registered: true,
        deviceId,
        vmName,
        loadOrder,
        state: acrnctl,
        pinnedPcpus,
        latency: { budgetUs: latencyBudgetUs, worstCaseUs: null, reportedAt: null, breaches: 0 },
        // A VM deleted and registered again keeps its fault history.
        tripleFaults: state.tripleFaults,
        lastTripleFaultAt: state.lastTripleFaultAt,
      };
    }
    case 'RtVmStarted':
      return { ...state, state: 'started' };
    case 'RtVmStopRequested':
      return { ...state, pending: { operation: 'stop', requestedAt: event.data.at } };
    case 'RtVmResetRequested':
      return { ...state, pending: { operation: 'reset', requestedAt: event.data.at } };
    case 'RtVmDeleted':
      return { ...state, registered: false, state: 'unknown', pending: null };
    case 'RtVmStateReported':
      return { ...state, state: event.data.state, pending: null };
    case 'RtVmPoweredOff':
      // The power-off completes a stop; a reset goes on to start the VM again.
      return {
        ...state,
        state: 'stopped',
        pending: state.pending?.operation === 'reset' ? state.pending : null,
      };
    case 'RtVmTripleFaulted':
      return {
        ...state,
        state: 'stopped',
        pending: state.pending?.operation === 'reset' ? state.pending : null,
        tripleFaults: event.data.tripleFaults,
        lastTripleFaultAt: event.data.at,
      };
    case 'RtVmLatencyReported':
      return {
        ...state,
        latency: { ...state.latency, worstCaseUs: event.data.worstCaseUs, reportedAt: event.data.at },
      };
    case 'RtVmLatencyBudgetBreached':
      return { ...state, latency: { ...state.latency, breaches: state.latency.breaches + 1 } };
    case 'RtVmLatencyBudgetChanged':
      return { ...state, latency: { ...state.latency, budgetUs: event.data.budgetUs } };
    default:
      return state;
  }
}

/** What RegisterRtVm reads from the device's Hypervisor stream. */
export type RtVmContext = { readonly device?: HypervisorState };

type LifecycleCommand = Extract<RtVmCommand, { type: 'StartRtVm' | 'StopRtVm' | 'ResetRtVm' | 'DeleteRtVm' }>;

function checkPinnedPcpus(pcpus: unknown): string | undefined {
  if (!Array.isArray(pcpus) || pcpus.length === 0) return 'must list at least one pCPU';
  if (!pcpus.every((p) => Number.isInteger(p) && p >= 0)) return 'must be pCPU ids (integers ≥ 0)';
  if (new Set(pcpus).size !== pcpus.length) return 'must not name a pCPU twice';
  if (pcpus.includes(0)) return 'must not include pCPU 0, which ACRN never gives to an RTVM';
  return undefined;
}

/** The checks every lifecycle command shares, in order: post-launched, nothing pending. */
function lifecycleRejection(command: LifecycleCommand, state: RtVmState): DomainRejection | undefined {
  const { deviceId, vmName } = command.props;
  if (state.loadOrder !== 'POST_LAUNCHED_VM') {
    return reject(
      'RTVM_NOT_POST_LAUNCHED',
      `RTVM ${vmName} of device ${deviceId} is pre-launched: it runs with the hypervisor and acrnctl cannot ${command.type.replace('RtVm', '').toLowerCase()} it`,
      { deviceId, vmName, loadOrder: state.loadOrder },
    );
  }
  if (command.type === 'StopRtVm' && command.props.force === true) {
    return reject(
      'RTVM_FORCE_STOP_UNSUPPORTED',
      `RTVM ${vmName} cannot be force-stopped: the Device Model ignores --force for an RTVM and asks the guest to power off`,
      { deviceId, vmName },
    );
  }
  if (state.pending !== null) {
    return reject(
      'RTVM_OPERATION_PENDING',
      `RTVM ${vmName} of device ${deviceId} has a ${state.pending.operation} pending since ${state.pending.requestedAt}`,
      { deviceId, vmName, pending: state.pending.operation, requestedAt: state.pending.requestedAt },
    );
  }
  return undefined;
}

function wrongState(
  code: 'RTVM_NOT_STOPPED' | 'RTVM_ALREADY_STOPPED' | 'RTVM_NOT_RUNNING',
  command: LifecycleCommand,
  state: RtVmState,
  needs: readonly AcrnctlState[],
): DomainRejection {
  const { deviceId, vmName } = command.props;
  return reject(
    code,
    `${command.type} needs RTVM ${vmName} to be ${needs.join(' or ')}, but it is ${state.state}`,
    { deviceId, vmName, state: state.state, allowedStates: [...needs] },
  );
}

export function decideRtVm(
  command: RtVmCommand,
  state: RtVmState,
  context: DecideContext<RtVmContext>,
): Decision<RtVmEvent> {
  const { deviceId, vmName } = command.props;
  const ref = { deviceId, vmName };
  const shape = fields()
    .pattern(deviceId, DEVICE_ID_PATTERN, 'deviceId', 'a device id')
    .pattern(vmName, VM_NAME_PATTERN, 'vmName', 'an ACRN VM name (1-15 of a-z, A-Z, 0-9, _ and -)');
  if ('at' in command.props) shape.optionalTimestamp(command.props.at, 'at');
  const at = 'at' in command.props && command.props.at !== undefined ? command.props.at : context.now;

  // Defence in depth: a stream is only ever acted on as the VM that registered it.
  if (state.deviceId !== null && (state.deviceId !== deviceId || state.vmName !== vmName)) {
    const invalid = shape.rejection(command.type);
    if (invalid) return invalid;
    return reject(
      'INVALID_COMMAND',
      `The stream of device ${deviceId} VM ${vmName} belongs to device ${state.deviceId} VM ${state.vmName}`,
      { ...ref, streamOwner: { deviceId: state.deviceId, vmName: state.vmName } },
    );
  }

  if (command.type === 'RegisterRtVm') {
    const { loadOrder, pinnedPcpus, latencyBudgetUs } = command.props;
    shape
      .oneOf(loadOrder, RTVM_LOAD_ORDERS, 'loadOrder')
      .check(
        typeof latencyBudgetUs === 'number' && Number.isFinite(latencyBudgetUs) && latencyBudgetUs > 0,
        'latencyBudgetUs',
        'must be a number of µs > 0',
      );
    const pcpuProblem = checkPinnedPcpus(pinnedPcpus);
    if (pcpuProblem) shape.add('pinnedPcpus', pcpuProblem);
    if (command.props.state !== undefined) shape.oneOf(command.props.state, ACRNCTL_STATES, 'state');
    const invalid = shape.rejection(command.type) ?? requireProvisioned(context.device, deviceId);
    if (invalid) return invalid;
    const pcpus = [...pinnedPcpus].sort((a, b) => a - b);
    if (state.registered) {
      if (state.loadOrder === loadOrder && jsonEqual(state.pinnedPcpus, pcpus)) return [];
      return reject('RTVM_ALREADY_REGISTERED', `RTVM ${vmName} of device ${deviceId} is already registered`, {
        ...ref,
        loadOrder: state.loadOrder,
        pinnedPcpus: [...state.pinnedPcpus],
      });
    }
    return [
      rtVmEvent('RtVmRegistered', {
        ...ref,
        loadOrder,
        pinnedPcpus: pcpus,
        latencyBudgetUs,
        state: command.props.state ?? (loadOrder === 'PRE_LAUNCHED_VM' ? 'started' : 'stopped'),
        at,
      }),
    ];
  }

  switch (command.type) {
    case 'ReportRtVmState':
      shape.oneOf(command.props.state, ACRNCTL_STATES, 'state');
      break;
    case 'ReportRtVmLatency':
      shape.nonNegativeNumber(command.props.worstCaseUs, 'worstCaseUs');
      break;
    case 'ChangeRtVmLatencyBudget':
      shape.check(
        typeof command.props.budgetUs === 'number' &&
          Number.isFinite(command.props.budgetUs) &&
          command.props.budgetUs > 0,
        'budgetUs',
        'must be a number of µs > 0',
      );
      break;
    case 'StopRtVm':
      shape.check(
        command.props.force === undefined || typeof command.props.force === 'boolean',
        'force',
        'must be a boolean',
      );
      break;
  }
  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;
  if (!state.registered) {
    return reject('RTVM_NOT_REGISTERED', `Device ${deviceId} has no registered RTVM ${vmName}`, ref);
  }

  switch (command.type) {
    case 'StartRtVm': {
      const refused = lifecycleRejection(command, state);
      if (refused) return refused;
      if (state.state !== 'stopped') return wrongState('RTVM_NOT_STOPPED', command, state, ['stopped']);
      return [rtVmEvent('RtVmStarted', { ...ref, at })];
    }
    case 'StopRtVm': {
      const refused = lifecycleRejection(command, state);
      if (refused) return refused;
      if (state.state === 'stopped') {
        return wrongState('RTVM_ALREADY_STOPPED', command, state, [
          'started',
          'suspended',
          'untracked',
          'unknown',
        ]);
      }
      return [rtVmEvent('RtVmStopRequested', { ...ref, at })];
    }
    case 'ResetRtVm': {
      const refused = lifecycleRejection(command, state);
      if (refused) return refused;
      if (state.state !== 'started' && state.state !== 'suspended') {
        return wrongState('RTVM_NOT_RUNNING', command, state, ['started', 'suspended']);
      }
      return [rtVmEvent('RtVmResetRequested', { ...ref, at })];
    }
    case 'DeleteRtVm': {
      const refused = lifecycleRejection(command, state);
      if (refused) return refused;
      if (state.state !== 'stopped') return wrongState('RTVM_NOT_STOPPED', command, state, ['stopped']);
      return [rtVmEvent('RtVmDeleted', { ...ref, at })];
    }
    case 'ReportRtVmState': {
      if (command.props.state === state.state && state.pending === null) return [];
      return [
        rtVmEvent('RtVmStateReported', {
          ...ref,
          state: command.props.state,
          previousState: state.state,
          at,
        }),
      ];
    }
    case 'RecordRtVmPowerOff': {
      if (state.state === 'stopped' && state.pending === null) return [];
      return [rtVmEvent('RtVmPoweredOff', { ...ref, previousState: state.state, at })];
    }
    case 'RecordRtVmTripleFault':
      return [
        rtVmEvent('RtVmTripleFaulted', {
          ...ref,
          previousState: state.state,
          tripleFaults: state.tripleFaults + 1,
          at,
        }),
      ];
    case 'ReportRtVmLatency': {
      const { worstCaseUs } = command.props;
      const { budgetUs } = state.latency;
      const reported = rtVmEvent('RtVmLatencyReported', { ...ref, worstCaseUs, budgetUs, at });
      if (worstCaseUs <= budgetUs) return [reported];
      return [
        reported,
        rtVmEvent('RtVmLatencyBudgetBreached', {
          ...ref,
          worstCaseUs,
          budgetUs,
          excessUs: worstCaseUs - budgetUs,
          at,
        }),
      ];
    }
    case 'ChangeRtVmLatencyBudget': {
      const { budgetUs } = command.props;
      const previous = state.latency.budgetUs;
      if (previous === budgetUs) return [];
      return [
        rtVmEvent('RtVmLatencyBudgetChanged', {
          ...ref,
          budgetUs,
          previousBudgetUs: previous,
          at: context.now,
        }),
      ];
    }
  }
}

export const rtVmDecider: Decider<RtVmState, RtVmEvent, RtVmCommand, RtVmContext> = {
  name: 'RtVm',
  initialState: initialRtVmState,
  evolve: evolveRtVm,
  decide: decideRtVm,
  schemaVersions: RT_VM_EVENT_SCHEMA_VERSIONS,
};
