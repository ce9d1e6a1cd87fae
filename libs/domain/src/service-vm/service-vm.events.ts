import { eventFactory, type DomainEvent } from '../shared/event';

/** Where the Service VM is, as far as Hyperfleet knows. */
export const SERVICE_VM_LIFECYCLES = [
  'running',
  'reboot-requested',
  'shutdown-requested',
  'shutting-down',
] as const;
export type ServiceVmLifecycle = (typeof SERVICE_VM_LIFECYCLES)[number];

/** Health of the Device Model (acrn-dm) processes that run the post-launched VMs, as the agent sees it. */
export const DEVICE_MODEL_HEALTH = ['healthy', 'degraded', 'failed'] as const;
export type DeviceModelHealth = (typeof DEVICE_MODEL_HEALTH)[number];

/** What the Service VM is going down for (the lifecycle manager's req_sys_reboot / req_sys_shutdown). */
export const SERVICE_VM_POWER_ACTIONS = ['reboot', 'shutdown'] as const;
export type ServiceVmPowerAction = (typeof SERVICE_VM_POWER_ACTIONS)[number];

type Ref = { deviceId: string };

/** The agent came up in a freshly booted Service VM. */
export type ServiceVmBooted = DomainEvent<
  'ServiceVmBooted',
  Ref & { osImageVersion: string; kernelVersion: string | null; bootId?: string; at: string }
>;
/** The Service VM booted a different OS image than before (an OTA update took effect, or was rolled back). */
export type ServiceVmOsImageChanged = DomainEvent<
  'ServiceVmOsImageChanged',
  Ref & { from: string; to: string; at: string }
>;
export type ServiceVmRebootRequested = DomainEvent<
  'ServiceVmRebootRequested',
  Ref & { reason: string; at: string }
>;
export type ServiceVmShutdownRequested = DomainEvent<
  'ServiceVmShutdownRequested',
  Ref & { reason: string; at: string }
>;
/** The agent reports the Service VM is going down (the lifecycle manager started a reboot or shutdown). */
export type ServiceVmShuttingDown = DomainEvent<
  'ServiceVmShuttingDown',
  Ref & { action: ServiceVmPowerAction; at: string }
>;
export type DeviceModelHealthChanged = DomainEvent<
  'DeviceModelHealthChanged',
  Ref & { health: DeviceModelHealth; previous: DeviceModelHealth | null; detail: string; at: string }
>;

export type ServiceVmEvent =
  | ServiceVmBooted
  | ServiceVmOsImageChanged
  | ServiceVmRebootRequested
  | ServiceVmShutdownRequested
  | ServiceVmShuttingDown
  | DeviceModelHealthChanged;

export const SERVICE_VM_EVENT_SCHEMA_VERSIONS: { readonly [K in ServiceVmEvent['type']]: number } = {
  ServiceVmBooted: 1,
  ServiceVmOsImageChanged: 1,
  ServiceVmRebootRequested: 1,
  ServiceVmShutdownRequested: 1,
  ServiceVmShuttingDown: 1,
  DeviceModelHealthChanged: 1,
};

export const serviceVmEvent = eventFactory<ServiceVmEvent>(SERVICE_VM_EVENT_SCHEMA_VERSIONS);
