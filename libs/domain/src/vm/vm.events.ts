import { eventFactory, type DomainEvent } from '../shared/event';
import type { AcrnctlState } from '../rt-vm/rt-vm.events';

/**
 * ACRN's load_order (scenario XML): the Service VM is a STANDARD_VM with load_order SERVICE_VM. RTVMs
 * have their own aggregate (RtVm); every other VM of a device is a Vm.
 */
export const VM_LOAD_ORDERS = ['SERVICE_VM', 'PRE_LAUNCHED_VM', 'POST_LAUNCHED_VM'] as const;
export type VmLoadOrder = (typeof VM_LOAD_ORDERS)[number];
/** ACRN's vm_type except RTVM. */
export const NON_RT_VM_TYPES = ['STANDARD_VM', 'TEE_VM', 'REE_VM'] as const;
export type NonRtVmType = (typeof NON_RT_VM_TYPES)[number];

type Ref = { deviceId: string; vmName: string };

/**
 * A VM the agent's birth announced, or announced again with other facts (a new plan may change a
 * VM's pCPUs or load order). For the Service VM `state` is `untracked`: acrnctl does not list it.
 */
export type VmRegistered = DomainEvent<
  'VmRegistered',
  Ref & {
    vmType: NonRtVmType;
    loadOrder: VmLoadOrder;
    pcpus: number[];
    imageVersion: string | null;
    state: AcrnctlState;
    at: string;
  }
>;
/** The acrnctl state the agent observed (birth or vm-state). */
export type VmStateReported = DomainEvent<
  'VmStateReported',
  Ref & { state: AcrnctlState; previousState: AcrnctlState; at: string }
>;
/** The Device Model's VM_EVENT_POWEROFF. */
export type VmPoweredOff = DomainEvent<'VmPoweredOff', Ref & { previousState: AcrnctlState; at: string }>;
/** The Device Model's VM_EVENT_TRIPLE_FAULT; the VM is `stopped` after it. */
export type VmTripleFaulted = DomainEvent<
  'VmTripleFaulted',
  Ref & { previousState: AcrnctlState; tripleFaults: number; at: string }
>;

export type VmEvent = VmRegistered | VmStateReported | VmPoweredOff | VmTripleFaulted;

export const VM_EVENT_SCHEMA_VERSIONS: { readonly [K in VmEvent['type']]: number } = {
  VmRegistered: 1,
  VmStateReported: 1,
  VmPoweredOff: 1,
  VmTripleFaulted: 1,
};

export const vmEvent = eventFactory<VmEvent>(VM_EVENT_SCHEMA_VERSIONS);
