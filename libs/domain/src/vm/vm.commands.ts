import { DomainCommand, type CommandMeta } from '../shared/command';
import type { AcrnctlState } from '../rt-vm/rt-vm.events';
import type { NonRtVmType, VmLoadOrder } from './vm.events';

type Ref = { deviceId: string; vmName: string };

/** Agent (birth): a VM of a provisioned device that is not an RTVM, the Service VM included. */
export class RegisterVm extends DomainCommand<
  'RegisterVm',
  Ref & {
    vmType: NonRtVmType;
    loadOrder: VmLoadOrder;
    pcpus: number[];
    imageVersion?: string | null;
    state?: AcrnctlState;
    at?: string;
  }
> {
  constructor(props: RegisterVm['props'], meta?: CommandMeta) {
    super('RegisterVm', props, meta);
  }
}

/** Agent: the state `acrnctl list` shows. */
export class ReportVmState extends DomainCommand<
  'ReportVmState',
  Ref & { state: AcrnctlState; at?: string }
> {
  constructor(props: ReportVmState['props'], meta?: CommandMeta) {
    super('ReportVmState', props, meta);
  }
}

/** Agent: the Device Model sent VM_EVENT_POWEROFF. */
export class RecordVmPowerOff extends DomainCommand<'RecordVmPowerOff', Ref & { at?: string }> {
  constructor(props: RecordVmPowerOff['props'], meta?: CommandMeta) {
    super('RecordVmPowerOff', props, meta);
  }
}

/** Agent: the Device Model sent VM_EVENT_TRIPLE_FAULT. */
export class RecordVmTripleFault extends DomainCommand<'RecordVmTripleFault', Ref & { at?: string }> {
  constructor(props: RecordVmTripleFault['props'], meta?: CommandMeta) {
    super('RecordVmTripleFault', props, meta);
  }
}

export type VmCommand = RegisterVm | ReportVmState | RecordVmPowerOff | RecordVmTripleFault;
