import { CommandHandler } from '@nestjs/cqrs';
import { HypervisorAggregate } from '../hypervisor/hypervisor.aggregate';
import type { CommandOutcome } from '../shared/command';
import { executeCommand, redecide, type RetryPolicy } from '../shared/command-handling';
import { DomainCommandHandler } from '../shared/handler';
import { ServiceVmAggregate } from './service-vm.aggregate';
import {
  ReportDeviceModelHealth,
  ReportServiceVmBooted,
  ReportServiceVmShuttingDown,
  RequestServiceVmReboot,
  RequestServiceVmShutdown,
  type ServiceVmCommand,
} from './service-vm.commands';
import { decideServiceVm, type ServiceVmContext } from './service-vm.decider';

/** Retry on a version conflict, per command. All ServiceVm commands are safe to re-decide. */
export const SERVICE_VM_RETRY_POLICY: { readonly [K in ServiceVmCommand['type']]: RetryPolicy } = {
  ReportServiceVmBooted: redecide(
    'a device fact; the OS image change is recomputed against the previous boot',
  ),
  RequestServiceVmReboot: redecide(
    'the lifecycle is re-checked: of two racing requests one is accepted, the other gets SERVICE_VM_NOT_RUNNING',
  ),
  RequestServiceVmShutdown: redecide(
    'the lifecycle is re-checked: of two racing requests one is accepted, the other gets SERVICE_VM_NOT_RUNNING',
  ),
  ReportServiceVmShuttingDown: redecide('a device fact: recorded on top of whatever else happened'),
  ReportDeviceModelHealth: redecide('a device fact; a repeat of the current health is a no-op'),
};

abstract class ServiceVmCommandHandler<C extends ServiceVmCommand> extends DomainCommandHandler<C> {
  protected async context(_command: C): Promise<ServiceVmContext> {
    return {};
  }

  execute(command: C): Promise<CommandOutcome> {
    return executeCommand({
      store: this.store,
      cache: this.cache,
      clock: this.clock,
      aggregate: () => new ServiceVmAggregate(command.props.deviceId),
      command,
      retry: SERVICE_VM_RETRY_POLICY[command.type],
      decide: async (state, context) =>
        decideServiceVm(command, state, { ...context, ...(await this.context(command)) }),
    });
  }
}

/** Reads the device's Hypervisor stream: a Service VM boot is recorded only for a provisioned device. */
@CommandHandler(ReportServiceVmBooted)
export class ReportServiceVmBootedHandler extends ServiceVmCommandHandler<ReportServiceVmBooted> {
  protected override async context(command: ReportServiceVmBooted): Promise<ServiceVmContext> {
    const device = new HypervisorAggregate(command.props.deviceId);
    return { device: await this.current(device) };
  }
}

@CommandHandler(RequestServiceVmReboot)
export class RequestServiceVmRebootHandler extends ServiceVmCommandHandler<RequestServiceVmReboot> {}

@CommandHandler(RequestServiceVmShutdown)
export class RequestServiceVmShutdownHandler extends ServiceVmCommandHandler<RequestServiceVmShutdown> {}

@CommandHandler(ReportServiceVmShuttingDown)
export class ReportServiceVmShuttingDownHandler extends ServiceVmCommandHandler<ReportServiceVmShuttingDown> {}

@CommandHandler(ReportDeviceModelHealth)
export class ReportDeviceModelHealthHandler extends ServiceVmCommandHandler<ReportDeviceModelHealth> {}

export const SERVICE_VM_COMMAND_HANDLERS = [
  ReportServiceVmBootedHandler,
  RequestServiceVmRebootHandler,
  RequestServiceVmShutdownHandler,
  ReportServiceVmShuttingDownHandler,
  ReportDeviceModelHealthHandler,
];
