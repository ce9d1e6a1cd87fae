import { DomainCommand, type CommandMeta } from '../shared/command';
import type { DeviceModelHealth, ServiceVmPowerAction } from './service-vm.events';

/** Agent: it started in a freshly booted Service VM running this OS image. */
export class ReportServiceVmBooted extends DomainCommand<
  'ReportServiceVmBooted',
  { deviceId: string; osImageVersion: string; kernelVersion?: string; bootId?: string; at?: string }
> {
  constructor(props: ReportServiceVmBooted['props'], meta?: CommandMeta) {
    super('ReportServiceVmBooted', props, meta);
  }
}

/** Operator: reboot the Service VM. */
export class RequestServiceVmReboot extends DomainCommand<
  'RequestServiceVmReboot',
  { deviceId: string; reason?: string }
> {
  constructor(props: RequestServiceVmReboot['props'], meta?: CommandMeta) {
    super('RequestServiceVmReboot', props, meta);
  }
}

/** Operator: shut the Service VM (and with it the platform) down. */
export class RequestServiceVmShutdown extends DomainCommand<
  'RequestServiceVmShutdown',
  { deviceId: string; reason?: string }
> {
  constructor(props: RequestServiceVmShutdown['props'], meta?: CommandMeta) {
    super('RequestServiceVmShutdown', props, meta);
  }
}

/** Agent: the Service VM is going down. */
export class ReportServiceVmShuttingDown extends DomainCommand<
  'ReportServiceVmShuttingDown',
  { deviceId: string; action: ServiceVmPowerAction; at?: string }
> {
  constructor(props: ReportServiceVmShuttingDown['props'], meta?: CommandMeta) {
    super('ReportServiceVmShuttingDown', props, meta);
  }
}

/** Agent: the health of the Device Model processes. */
export class ReportDeviceModelHealth extends DomainCommand<
  'ReportDeviceModelHealth',
  { deviceId: string; health: DeviceModelHealth; detail?: string; at?: string }
> {
  constructor(props: ReportDeviceModelHealth['props'], meta?: CommandMeta) {
    super('ReportDeviceModelHealth', props, meta);
  }
}

export type ServiceVmCommand =
  | ReportServiceVmBooted
  | RequestServiceVmReboot
  | RequestServiceVmShutdown
  | ReportServiceVmShuttingDown
  | ReportDeviceModelHealth;
