import { CommandHandler } from '@nestjs/cqrs';
import { HypervisorAggregate } from '../hypervisor/hypervisor.aggregate';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { RtVmAggregate } from './rt-vm.aggregate';
import {
  ChangeRtVmLatencyBudget,
  DeleteRtVm,
  RecordRtVmPowerOff,
  RecordRtVmTripleFault,
  RegisterRtVm,
  ReportRtVmLatency,
  ReportRtVmState,
  ResetRtVm,
  StartRtVm,
  StopRtVm,
  type RtVmCommand,
} from './rt-vm.commands';
import { decideRtVm, type RtVmContext } from './rt-vm.decider';

const LIFECYCLE =
  'the acrnctl state and any pending operation are re-checked on the new state: two racing lifecycle ' +
  'commands end with one accepted and the other rejected (e.g. RTVM_NOT_STOPPED)';

/** Retry on a version conflict, per command. All RtVm commands are safe to re-decide. */
export const RT_VM_RETRY_POLICY: { readonly [K in RtVmCommand['type']]: RetryPolicy } = {
  RegisterRtVm: redecide(
    're-decided on the new state: a repeat is a no-op, a different registration is refused',
  ),
  StartRtVm: redecide(LIFECYCLE),
  StopRtVm: redecide(LIFECYCLE),
  ResetRtVm: redecide(LIFECYCLE),
  DeleteRtVm: redecide(LIFECYCLE),
  ReportRtVmState: redecide('a device fact, authoritative: recorded on top of whatever else happened'),
  RecordRtVmPowerOff: redecide('a device fact: recorded on top of whatever else happened'),
  RecordRtVmTripleFault: redecide('a device fact; the fault count is recomputed from the new state'),
  ReportRtVmLatency: redecide(
    'a device fact: concurrent reports all land, each compared with the budget current when it is appended',
    10,
  ),
  ChangeRtVmLatencyBudget: redecide('sets the budget to a given value: the same result on any newer state'),
};

abstract class RtVmCommandHandler<C extends RtVmCommand> extends DomainCommandHandler<C> {
  /** Read-only facts from other streams the decision needs; loaded on every attempt. */
  protected async context(_command: C): Promise<RtVmContext> {
    return {};
  }

  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new RtVmAggregate(command.props.deviceId, command.props.vmName),
      command,
      retry: RT_VM_RETRY_POLICY[command.type],
      decide: async (state, context) =>
        decideRtVm(command, state, { ...context, ...(await this.context(command)) }),
    });
  }
}

/** Reads the device's Hypervisor stream: an RTVM can be registered only on a provisioned device. */
@CommandHandler(RegisterRtVm)
export class RegisterRtVmHandler extends RtVmCommandHandler<RegisterRtVm> {
  protected override async context(command: RegisterRtVm): Promise<RtVmContext> {
    const device = new HypervisorAggregate(command.props.deviceId);
    return { device: await this.current(device) };
  }
}

@CommandHandler(StartRtVm)
export class StartRtVmHandler extends RtVmCommandHandler<StartRtVm> {}

@CommandHandler(StopRtVm)
export class StopRtVmHandler extends RtVmCommandHandler<StopRtVm> {}

@CommandHandler(ResetRtVm)
export class ResetRtVmHandler extends RtVmCommandHandler<ResetRtVm> {}

@CommandHandler(DeleteRtVm)
export class DeleteRtVmHandler extends RtVmCommandHandler<DeleteRtVm> {}

@CommandHandler(ReportRtVmState)
export class ReportRtVmStateHandler extends RtVmCommandHandler<ReportRtVmState> {}

@CommandHandler(RecordRtVmPowerOff)
export class RecordRtVmPowerOffHandler extends RtVmCommandHandler<RecordRtVmPowerOff> {}

@CommandHandler(RecordRtVmTripleFault)
export class RecordRtVmTripleFaultHandler extends RtVmCommandHandler<RecordRtVmTripleFault> {}

@CommandHandler(ReportRtVmLatency)
export class ReportRtVmLatencyHandler extends RtVmCommandHandler<ReportRtVmLatency> {}

@CommandHandler(ChangeRtVmLatencyBudget)
export class ChangeRtVmLatencyBudgetHandler extends RtVmCommandHandler<ChangeRtVmLatencyBudget> {}

export const RT_VM_COMMAND_HANDLERS = [
  RegisterRtVmHandler,
  StartRtVmHandler,
  StopRtVmHandler,
  ResetRtVmHandler,
  DeleteRtVmHandler,
  ReportRtVmStateHandler,
  RecordRtVmPowerOffHandler,
  RecordRtVmTripleFaultHandler,
  ReportRtVmLatencyHandler,
  ChangeRtVmLatencyBudgetHandler,
];
