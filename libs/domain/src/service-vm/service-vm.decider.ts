/**
 * ServiceVm (stream `service-vm-<deviceId>`): the device's Service VM, where the agent and the Device
 * Model run. Its OS image version, its lifecycle, and the Device Model's health.
 *
 * Invariants:
 * - The stream starts with the first ServiceVmBooted, on a provisioned device.
 * - A reboot or shutdown is requested only of a `running` Service VM, one at a time; the next boot
 *   clears it.
 * - An OS image change is recorded as its own event (ServiceVmOsImageChanged) when a boot reports a
 *   different version than the previous boot.
 * - Repeated reports of the same health or the same shutdown append nothing.
 */
import type { HypervisorState } from '../hypervisor/hypervisor.decider';
import { requireProvisioned } from '../hypervisor/hypervisor.decider';
import type { DecideContext, Decider, Decision } from '../shared/decider';
import { reject } from '../shared/rejection';
import { DEVICE_ID_PATTERN, fields } from '../shared/validation';
import type { ServiceVmCommand } from './service-vm.commands';
import {
  DEVICE_MODEL_HEALTH,
  SERVICE_VM_EVENT_SCHEMA_VERSIONS,
  SERVICE_VM_POWER_ACTIONS,
  serviceVmEvent,
  type DeviceModelHealth,
  type ServiceVmEvent,
  type ServiceVmLifecycle,
  type ServiceVmPowerAction,
} from './service-vm.events';

export interface ServiceVmState {
  readonly exists: boolean;
  readonly deviceId: string | null;
  readonly lifecycle: ServiceVmLifecycle | null;
  readonly shuttingDownFor: ServiceVmPowerAction | null;
  readonly osImageVersion: string | null;
  readonly kernelVersion: string | null;
  readonly bootedAt: string | null;
  /** Linux boot id of the running boot, when the agent reports one. */
  readonly bootId: string | null;
  readonly boots: number;
  readonly deviceModel: {
    readonly health: DeviceModelHealth | null;
    readonly since: string | null;
    readonly detail: string;
  };
}

export function initialServiceVmState(): ServiceVmState {
  return {
    exists: false,
    deviceId: null,
    lifecycle: null,
    shuttingDownFor: null,
    osImageVersion: null,
    kernelVersion: null,
    bootedAt: null,
    bootId: null,
    boots: 0,
    deviceModel: { health: null, since: null, detail: '' },
  };
}

export function evolveServiceVm(state: ServiceVmState, event: ServiceVmEvent): ServiceVmState {
  switch (event.type) {
    case 'ServiceVmBooted': {
      const { deviceId, osImageVersion, kernelVersion, at } = event.data;
      const bootId = event.data.bootId ?? null;
      return {
        ...state,
        exists: true,
        deviceId,
        lifecycle: 'running',
        shuttingDownFor: null,
        osImageVersion,
        kernelVersion,
        bootedAt: at,
        bootId,
        boots: state.boots + 1,
      };
    }
    case 'ServiceVmOsImageChanged':
      return state; // ServiceVmBooted carries the version; this event is for OTA consumers.
    case 'ServiceVmRebootRequested':
      return { ...state, lifecycle: 'reboot-requested' };
    case 'ServiceVmShutdownRequested':
      return { ...state, lifecycle: 'shutdown-requested' };
    case 'ServiceVmShuttingDown':
      return { ...state, lifecycle: 'shutting-down', shuttingDownFor: event.data.action };
    case 'DeviceModelHealthChanged':
      return {
        ...state,
        deviceModel: { health: event.data.health, since: event.data.at, detail: event.data.detail },
      };
    default:
      return state;
  }
}

/** What ReportServiceVmBooted reads from the device's Hypervisor stream. */
export type ServiceVmContext = { readonly device?: HypervisorState };

export function decideServiceVm(
  command: ServiceVmCommand,
  state: ServiceVmState,
  context: DecideContext<ServiceVmContext>,
): Decision<ServiceVmEvent> {
  const { deviceId } = command.props;
  const shape = fields().pattern(deviceId, DEVICE_ID_PATTERN, 'deviceId', 'a device id');
  if ('at' in command.props) shape.optionalTimestamp(command.props.at, 'at');
  const at = 'at' in command.props && command.props.at !== undefined ? command.props.at : context.now;

  if (command.type === 'ReportServiceVmBooted') {
    const { osImageVersion, kernelVersion, bootId } = command.props;
    if (bootId !== undefined) shape.nonEmptyString(bootId, 'bootId', 100);
    shape.nonEmptyString(osImageVersion, 'osImageVersion', 100);
    if (kernelVersion !== undefined) shape.nonEmptyString(kernelVersion, 'kernelVersion', 100);
    const invalid = shape.rejection(command.type) ?? requireProvisioned(context.device, deviceId);
    if (invalid) return invalid;
    // The same boot reported again (the agent restarted or reconnected, or a redelivery) is not a new
    // boot: the same Linux boot id, or, without one, the same boot time.
    const sameBoot =
      bootId !== undefined && state.bootId !== null ? state.bootId === bootId : state.bootedAt === at;
    if (state.lifecycle === 'running' && sameBoot) return [];
    const booted = serviceVmEvent('ServiceVmBooted', {
      deviceId,
      osImageVersion,
      kernelVersion: kernelVersion ?? null,
      ...(bootId !== undefined ? { bootId } : {}),
      at,
    });
    if (state.osImageVersion === null || state.osImageVersion === osImageVersion) return [booted];
    return [
      booted,
      serviceVmEvent('ServiceVmOsImageChanged', {
        deviceId,
        from: state.osImageVersion,
        to: osImageVersion,
        at,
      }),
    ];
  }

  switch (command.type) {
    case 'RequestServiceVmReboot':
    case 'RequestServiceVmShutdown':
      if (command.props.reason !== undefined) shape.nonEmptyString(command.props.reason, 'reason', 500);
      break;
    case 'ReportServiceVmShuttingDown':
      shape.oneOf(command.props.action, SERVICE_VM_POWER_ACTIONS, 'action');
      break;
    case 'ReportDeviceModelHealth':
      shape.oneOf(command.props.health, DEVICE_MODEL_HEALTH, 'health');
      if (command.props.detail !== undefined)
        shape.check(
          typeof command.props.detail === 'string' && command.props.detail.length <= 2000,
          'detail',
          'must be a string of at most 2000 characters',
        );
      break;
  }
  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;
  if (!state.exists) {
    return reject('SERVICE_VM_NOT_FOUND', `Device ${deviceId} has not reported a Service VM boot yet`, {
      deviceId,
    });
  }

  switch (command.type) {
    case 'RequestServiceVmReboot':
    case 'RequestServiceVmShutdown': {
      if (state.lifecycle !== 'running') {
        return reject(
          'SERVICE_VM_NOT_RUNNING',
          `The Service VM of device ${deviceId} is ${state.lifecycle}, so it cannot take another reboot or shutdown request`,
          { deviceId, lifecycle: state.lifecycle },
        );
      }
      const reason = command.props.reason ?? 'operator request';
      return command.type === 'RequestServiceVmReboot'
        ? [serviceVmEvent('ServiceVmRebootRequested', { deviceId, reason, at: context.now })]
        : [serviceVmEvent('ServiceVmShutdownRequested', { deviceId, reason, at: context.now })];
    }
    case 'ReportServiceVmShuttingDown':
      if (state.lifecycle === 'shutting-down' && state.shuttingDownFor === command.props.action) return [];
      return [serviceVmEvent('ServiceVmShuttingDown', { deviceId, action: command.props.action, at })];
    case 'ReportDeviceModelHealth': {
      const { health } = command.props;
      const detail = command.props.detail ?? '';
      if (state.deviceModel.health === health && state.deviceModel.detail === detail) return [];
      return [
        serviceVmEvent('DeviceModelHealthChanged', {
          deviceId,
          health,
          previous: state.deviceModel.health,
          detail,
          at,
        }),
      ];
    }
  }
}

export const serviceVmDecider: Decider<ServiceVmState, ServiceVmEvent, ServiceVmCommand, ServiceVmContext> = {
  name: 'ServiceVm',
  initialState: initialServiceVmState,
  evolve: evolveServiceVm,
  decide: decideServiceVm,
  schemaVersions: SERVICE_VM_EVENT_SCHEMA_VERSIONS,
};
