import { CommandHandler } from '@nestjs/cqrs';
import { HypervisorAggregate } from '../hypervisor/hypervisor.aggregate';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { VmAggregate } from './vm.aggregate';
import {
  RecordVmPowerOff,
  RecordVmTripleFault,
  RegisterVm,
  ReportVmState,
  type VmCommand,
} from './vm.commands';
import { decideVm, type VmContext } from './vm.decider';

/** Every Vm command is a device fact: safe to re-decide on a newer state. */
export const VM_RETRY_POLICY: { readonly [K in VmCommand['type']]: RetryPolicy } = {
  RegisterVm: redecide('a repeat is a no-op; new facts are recorded on top'),
  ReportVmState: redecide('a device fact, authoritative: recorded on top of whatever else happened'),
  RecordVmPowerOff: redecide('a device fact: recorded on top of whatever else happened'),
  RecordVmTripleFault: redecide('a device fact; the fault count is recomputed from the new state'),
};

abstract class VmCommandHandler<C extends VmCommand> extends DomainCommandHandler<C> {
  protected async context(_command: C): Promise<VmContext> {
    return {};
  }

  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new VmAggregate(command.props.deviceId, command.props.vmName),
      command,
      retry: VM_RETRY_POLICY[command.type],
      decide: async (state, context) =>
        decideVm(command, state, { ...context, ...(await this.context(command)) }),
    });
  }
}

/** Reads the device's Hypervisor stream: a VM is registered only on a provisioned device. */
@CommandHandler(RegisterVm)
export class RegisterVmHandler extends VmCommandHandler<RegisterVm> {
  protected override async context(command: RegisterVm): Promise<VmContext> {
    return { device: await this.current(new HypervisorAggregate(command.props.deviceId)) };
  }
}

@CommandHandler(ReportVmState)
export class ReportVmStateHandler extends VmCommandHandler<ReportVmState> {}

@CommandHandler(RecordVmPowerOff)
export class RecordVmPowerOffHandler extends VmCommandHandler<RecordVmPowerOff> {}

@CommandHandler(RecordVmTripleFault)
export class RecordVmTripleFaultHandler extends VmCommandHandler<RecordVmTripleFault> {}

export const VM_COMMAND_HANDLERS = [
  RegisterVmHandler,
  ReportVmStateHandler,
  RecordVmPowerOffHandler,
  RecordVmTripleFaultHandler,
];
