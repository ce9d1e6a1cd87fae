import { DomainCommand, type CommandMeta } from '../shared/command';
import type { AcrnctlState, RtVmLoadOrder } from './rt-vm.events';

type Ref = { deviceId: string; vmName: string };

/** Agent or operator: an RTVM of a provisioned device, with its pinned pCPUs and latency budget (µs). */
export class RegisterRtVm extends DomainCommand<
  'RegisterRtVm',
  Ref & { loadOrder: RtVmLoadOrder; pinnedPcpus: number[]; latencyBudgetUs: number; state?: AcrnctlState }
> {
  constructor(props: RegisterRtVm['props'], meta?: CommandMeta) {
    super('RegisterRtVm', props, meta);
  }
}

/** Operator: `acrnctl start`. */
export class StartRtVm extends DomainCommand<'StartRtVm', Ref> {
  constructor(props: StartRtVm['props'], meta?: CommandMeta) {
    super('StartRtVm', props, meta);
  }
}

/** Operator: `acrnctl stop`. `force` is refused for an RTVM (the Device Model does not honour it). */
export class StopRtVm extends DomainCommand<'StopRtVm', Ref & { force?: boolean }> {
  constructor(props: StopRtVm['props'], meta?: CommandMeta) {
    super('StopRtVm', props, meta);
  }
}

/** Operator: `acrnctl reset`. */
export class ResetRtVm extends DomainCommand<'ResetRtVm', Ref> {
  constructor(props: ResetRtVm['props'], meta?: CommandMeta) {
    super('ResetRtVm', props, meta);
  }
}

/** Operator: `acrnctl del`. */
export class DeleteRtVm extends DomainCommand<'DeleteRtVm', Ref> {
  constructor(props: DeleteRtVm['props'], meta?: CommandMeta) {
    super('DeleteRtVm', props, meta);
  }
}

/** Agent: the state `acrnctl list` shows. */
export class ReportRtVmState extends DomainCommand<
  'ReportRtVmState',
  Ref & { state: AcrnctlState; at?: string }
> {
  constructor(props: ReportRtVmState['props'], meta?: CommandMeta) {
    super('ReportRtVmState', props, meta);
  }
}

/** Agent: the Device Model sent VM_EVENT_POWEROFF. */
export class RecordRtVmPowerOff extends DomainCommand<'RecordRtVmPowerOff', Ref & { at?: string }> {
  constructor(props: RecordRtVmPowerOff['props'], meta?: CommandMeta) {
    super('RecordRtVmPowerOff', props, meta);
  }
}

/** Agent: the Device Model sent VM_EVENT_TRIPLE_FAULT. */
export class RecordRtVmTripleFault extends DomainCommand<'RecordRtVmTripleFault', Ref & { at?: string }> {
  constructor(props: RecordRtVmTripleFault['props'], meta?: CommandMeta) {
    super('RecordRtVmTripleFault', props, meta);
  }
}

/** Agent: a worst-case latency measurement in µs (cyclictest's max). */
export class ReportRtVmLatency extends DomainCommand<
  'ReportRtVmLatency',
  Ref & { worstCaseUs: number; at?: string }
> {
  constructor(props: ReportRtVmLatency['props'], meta?: CommandMeta) {
    super('ReportRtVmLatency', props, meta);
  }
}

/** Operator: a new latency budget in µs. */
export class ChangeRtVmLatencyBudget extends DomainCommand<
  'ChangeRtVmLatencyBudget',
  Ref & { budgetUs: number }
> {
  constructor(props: ChangeRtVmLatencyBudget['props'], meta?: CommandMeta) {
    super('ChangeRtVmLatencyBudget', props, meta);
  }
}

export type RtVmCommand =
  | RegisterRtVm
  | StartRtVm
  | StopRtVm
  | ResetRtVm
  | DeleteRtVm
  | ReportRtVmState
  | RecordRtVmPowerOff
  | RecordRtVmTripleFault
  | ReportRtVmLatency
  | ChangeRtVmLatencyBudget;
