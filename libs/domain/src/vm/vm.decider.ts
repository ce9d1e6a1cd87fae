/**
 * Vm (stream `vm-<deviceId>.<vmName>`): a VM of a device that is not an RTVM — a STANDARD_VM (or
 * TEE_VM/REE_VM), pre- or post-launched, and the Service VM — as the agent reports it.
 *
 * RTVMs keep their own aggregate (RtVm), whose invariants (pinned pCPUs never pCPU 0, a latency
 * budget) do not apply here; a Vm has no invariants beyond its shape. Its own stream, rather than
 * RtVm with a type field, keeps the published RtVm events' meaning ("an RTVM") intact.
 *
 * - A post-launched VM's state is acrnctl's, recorded as reported.
 * - A pre-launched VM is not managed by acrnctl: it runs with the hypervisor; the agent reports it
 *   `untracked` (protocol.md), and any state or Device Model event reported for it is recorded as is.
 * - The Service VM (load order SERVICE_VM) is registered from the birth's `serviceVm` so that every VM
 *   is listed, always `untracked`. Its state is the device's (birth `serviceVm.state`, `status`), so a
 *   vm-state for it is refused with SERVICE_VM_NOT_ACRNCTL_MANAGED.
 */
import type { HypervisorState } from '../hypervisor/hypervisor.decider';
import { requireProvisioned } from '../hypervisor/hypervisor.decider';
import { ACRNCTL_STATES, type AcrnctlState } from '../rt-vm/rt-vm.events';
import type { DecideContext, Decider, Decision } from '../shared/decider';
import { jsonEqual } from '../shared/json';
import { reject } from '../shared/rejection';
import { DEVICE_ID_PATTERN, VM_NAME_PATTERN, fields } from '../shared/validation';
import type { VmCommand } from './vm.commands';
import {
  NON_RT_VM_TYPES,
  VM_EVENT_SCHEMA_VERSIONS,
  VM_LOAD_ORDERS,
  vmEvent,
  type NonRtVmType,
  type VmEvent,
  type VmLoadOrder,
} from './vm.events';

export interface VmState {
  readonly registered: boolean;
  readonly deviceId: string | null;
  readonly vmName: string | null;
  readonly vmType: NonRtVmType | null;
  readonly loadOrder: VmLoadOrder | null;
  readonly pcpus: readonly number[];
  readonly imageVersion: string | null;
  readonly state: AcrnctlState;
  readonly tripleFaults: number;
  readonly lastTripleFaultAt: string | null;
}

export function initialVmState(): VmState {
  return {
    registered: false,
    deviceId: null,
    vmName: null,
    vmType: null,
    loadOrder: null,
    pcpus: [],
    imageVersion: null,
    state: 'unknown',
    tripleFaults: 0,
    lastTripleFaultAt: null,
  };
}

export function evolveVm(state: VmState, event: VmEvent): VmState {
  switch (event.type) {
    case 'VmRegistered': {
      const { deviceId, vmName, vmType, loadOrder, pcpus, imageVersion, state: acrnctl } = event.data;
      return {
        ...state,
        registered: true,
        deviceId,
        vmName,
        vmType,
        loadOrder,
        pcpus,
        imageVersion,
        state: acrnctl,
      };
    }
    case 'VmStateReported':
      return { ...state, state: event.data.state };
    case 'VmPoweredOff':
      return { ...state, state: 'stopped' };
    case 'VmTripleFaulted':
      return {
        ...state,
        state: 'stopped',
        tripleFaults: event.data.tripleFaults,
        lastTripleFaultAt: event.data.at,
      };
    default:
      return state;
  }
}

/** What RegisterVm reads from the device's Hypervisor stream. */
export type VmContext = { readonly device?: HypervisorState };

export function decideVm(
  command: VmCommand,
  state: VmState,
  context: DecideContext<VmContext>,
): Decision<VmEvent> {
  const { deviceId, vmName } = command.props;
  const ref = { deviceId, vmName };
  const shape = fields()
    .pattern(deviceId, DEVICE_ID_PATTERN, 'deviceId', 'a device id')
    .pattern(vmName, VM_NAME_PATTERN, 'vmName', 'an ACRN VM name (1-15 of a-z, A-Z, 0-9, _ and -)');
  shape.optionalTimestamp(command.props.at, 'at');
  const at = command.props.at ?? context.now;

  if (command.type === 'RegisterVm') {
    const { vmType, loadOrder, pcpus } = command.props;
    shape
      .oneOf(vmType, NON_RT_VM_TYPES, 'vmType')
      .oneOf(loadOrder, VM_LOAD_ORDERS, 'loadOrder')
      .check(
        Array.isArray(pcpus) && pcpus.every((p) => Number.isInteger(p) && p >= 0),
        'pcpus',
        'must be pCPU ids (integers ≥ 0)',
      );
    if (command.props.state !== undefined) shape.oneOf(command.props.state, ACRNCTL_STATES, 'state');
    const invalid = shape.rejection(command.type) ?? requireProvisioned(context.device, deviceId);
    if (invalid) return invalid;
    const facts = {
      vmType,
      loadOrder,
      pcpus: [...pcpus],
      imageVersion: command.props.imageVersion ?? null,
      // acrnctl does not list the Service VM; a pre-launched VM without a report is untracked too.
      state:
        loadOrder === 'SERVICE_VM'
          ? ('untracked' as const)
          : (command.props.state ?? (loadOrder === 'PRE_LAUNCHED_VM' ? 'untracked' : 'unknown')),
    };
    if (
      state.registered &&
      jsonEqual(
        {
          vmType: state.vmType,
          loadOrder: state.loadOrder,
          pcpus: state.pcpus,
          imageVersion: state.imageVersion,
        },
        { vmType, loadOrder, pcpus: facts.pcpus, imageVersion: facts.imageVersion },
      )
    ) {
      if (state.state === facts.state) return [];
      return [vmEvent('VmStateReported', { ...ref, state: facts.state, previousState: state.state, at })];
    }
    return [vmEvent('VmRegistered', { ...ref, ...facts, at })];
  }

  if (command.type === 'ReportVmState') shape.oneOf(command.props.state, ACRNCTL_STATES, 'state');
  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;
  if (!state.registered) {
    return reject(
      'VM_NOT_REGISTERED',
      `Device ${deviceId} has no VM ${vmName}: its birth did not announce one`,
      ref,
    );
  }
  if (state.loadOrder === 'SERVICE_VM') {
    return reject(
      'SERVICE_VM_NOT_ACRNCTL_MANAGED',
      `${vmName} is the Service VM of device ${deviceId}: acrnctl does not manage it; its state travels in birth and status`,
      ref,
    );
  }
  switch (command.type) {
    case 'ReportVmState':
      if (command.props.state === state.state) return [];
      return [
        vmEvent('VmStateReported', { ...ref, state: command.props.state, previousState: state.state, at }),
      ];
    case 'RecordVmPowerOff':
      if (state.state === 'stopped') return [];
      return [vmEvent('VmPoweredOff', { ...ref, previousState: state.state, at })];
    case 'RecordVmTripleFault':
      return [
        vmEvent('VmTripleFaulted', {
          ...ref,
          previousState: state.state,
          tripleFaults: state.tripleFaults + 1,
          at,
        }),
      ];
  }
}

export const vmDecider: Decider<VmState, VmEvent, VmCommand, VmContext> = {
  name: 'Vm',
  initialState: initialVmState,
  evolve: evolveVm,
  decide: decideVm,
  schemaVersions: VM_EVENT_SCHEMA_VERSIONS,
};
