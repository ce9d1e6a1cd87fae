import { hypervisorDecider } from '../hypervisor/hypervisor.decider';
import { hypervisorEvent } from '../hypervisor/hypervisor.events';
import { TEST_NOW, given } from '../testing';
import {
  ReportDeviceModelHealth,
  ReportServiceVmBooted,
  ReportServiceVmShuttingDown,
  RequestServiceVmReboot,
  RequestServiceVmShutdown,
} from './service-vm.commands';
import { serviceVmDecider } from './service-vm.decider';
import { serviceVmEvent } from './service-vm.events';

const deviceId = 'ipc-7';
const T0 = '2025-06-02T06:00:00.000Z';
const device = given(hypervisorDecider, [
  hypervisorEvent('DeviceProvisioned', {
    deviceId,
    deviceClass: 'industrial-pc',
    site: 'plant-2',
    tags: [],
    at: T0,
  }),
]).state();
const booted = (osImageVersion = '2025.05.1', at = T0) =>
  serviceVmEvent('ServiceVmBooted', {
    deviceId,
    osImageVersion,
    kernelVersion: '6.1.80-acrn-service-vm',
    at,
  });
const rebootRequested = serviceVmEvent('ServiceVmRebootRequested', {
  deviceId,
  reason: 'operator request',
  at: T0,
});
const shuttingDown = serviceVmEvent('ServiceVmShuttingDown', { deviceId, action: 'reboot', at: T0 });

describe('ServiceVm', () => {
  describe('ReportServiceVmBooted', () => {
    it('records the first boot with its OS image', () => {
      const state = given(serviceVmDecider, [], { device })
        .when(
          new ReportServiceVmBooted({
            deviceId,
            osImageVersion: '2025.05.1',
            kernelVersion: '6.1.80-acrn-service-vm',
            at: T0,
          }),
        )
        .then([booted()]);
      expect(state).toMatchObject({
        exists: true,
        lifecycle: 'running',
        osImageVersion: '2025.05.1',
        boots: 1,
      });
    });

    it('records an OS image change when a boot reports a different image', () => {
      const later = '2025-06-02T09:00:00.000Z';
      const state = given(serviceVmDecider, [booted(), rebootRequested, shuttingDown], { device })
        .when(new ReportServiceVmBooted({ deviceId, osImageVersion: '2025.06.0', at: later }))
        .then([
          serviceVmEvent('ServiceVmBooted', {
            deviceId,
            osImageVersion: '2025.06.0',
            kernelVersion: null,
            at: later,
          }),
          serviceVmEvent('ServiceVmOsImageChanged', {
            deviceId,
            from: '2025.05.1',
            to: '2025.06.0',
            at: later,
          }),
        ]);
      expect(state).toMatchObject({
        lifecycle: 'running',
        osImageVersion: '2025.06.0',
        boots: 2,
        shuttingDownFor: null,
      });
    });

    it('appends nothing when the same boot is reported again', () => {
      given(serviceVmDecider, [booted()], { device })
        .when(new ReportServiceVmBooted({ deviceId, osImageVersion: '2025.05.1', at: T0 }))
        .then([]);
    });

    it('tells boots apart by the Linux boot id when the agent reports one', () => {
      const bootA = '0b9c3d0e-4f8a-4c55-9a53-2d8f4a6b1c11';
      const withId = serviceVmEvent('ServiceVmBooted', {
        deviceId,
        osImageVersion: '2025.05.1',
        kernelVersion: null,
        bootId: bootA,
        at: T0,
      });
      // the agent reconnected later in the same boot: nothing new
      given(serviceVmDecider, [withId], { device })
        .when(
          new ReportServiceVmBooted({
            deviceId,
            osImageVersion: '2025.05.1',
            bootId: bootA,
            at: '2025-06-02T09:00:00.000Z',
          }),
        )
        .then([]);
      // another boot id is a reboot, even at the same reported time
      given(serviceVmDecider, [withId], { device })
        .when(
          new ReportServiceVmBooted({
            deviceId,
            osImageVersion: '2025.05.1',
            bootId: 'another-boot',
            at: T0,
          }),
        )
        .thenMatches([{ type: 'ServiceVmBooted', data: { bootId: 'another-boot' } }]);
    });

    it('refuses a device that is not provisioned, and an empty OS image version', () => {
      given(serviceVmDecider)
        .when(new ReportServiceVmBooted({ deviceId, osImageVersion: '2025.05.1' }))
        .thenRejects('DEVICE_NOT_PROVISIONED');
      given(serviceVmDecider, [], { device })
        .when(new ReportServiceVmBooted({ deviceId, osImageVersion: ' ' }))
        .thenRejects('INVALID_COMMAND');
    });
  });

  describe('RequestServiceVmReboot / RequestServiceVmShutdown', () => {
    it('requests a reboot or a shutdown of a running Service VM', () => {
      const afterReboot = given(serviceVmDecider, [booted()])
        .when(new RequestServiceVmReboot({ deviceId, reason: 'kernel update' }))
        .then([
          serviceVmEvent('ServiceVmRebootRequested', { deviceId, reason: 'kernel update', at: TEST_NOW }),
        ]);
      expect(afterReboot.lifecycle).toBe('reboot-requested');
      const afterShutdown = given(serviceVmDecider, [booted()])
        .when(new RequestServiceVmShutdown({ deviceId }))
        .then([
          serviceVmEvent('ServiceVmShutdownRequested', {
            deviceId,
            reason: 'operator request',
            at: TEST_NOW,
          }),
        ]);
      expect(afterShutdown.lifecycle).toBe('shutdown-requested');
    });

    it.each([
      ['a reboot is requested', [booted(), rebootRequested]],
      ['it is shutting down', [booted(), shuttingDown]],
    ])('refuses when %s', (_why, events) => {
      given(serviceVmDecider, events)
        .when(new RequestServiceVmReboot({ deviceId }))
        .thenRejects('SERVICE_VM_NOT_RUNNING');
      given(serviceVmDecider, events)
        .when(new RequestServiceVmShutdown({ deviceId }))
        .thenRejects('SERVICE_VM_NOT_RUNNING');
    });

    it('refuses a device whose Service VM never booted (404)', () => {
      const rejection = given(serviceVmDecider)
        .when(new RequestServiceVmReboot({ deviceId }))
        .thenRejects('SERVICE_VM_NOT_FOUND');
      expect(rejection.httpStatus).toBe(404);
      given(serviceVmDecider)
        .when(new RequestServiceVmShutdown({ deviceId }))
        .thenRejects('SERVICE_VM_NOT_FOUND');
    });
  });

  describe('ReportServiceVmShuttingDown', () => {
    it('records the Service VM going down, once', () => {
      const state = given(serviceVmDecider, [booted(), rebootRequested])
        .when(new ReportServiceVmShuttingDown({ deviceId, action: 'reboot', at: T0 }))
        .then([shuttingDown]);
      expect(state).toMatchObject({ lifecycle: 'shutting-down', shuttingDownFor: 'reboot' });
      given(serviceVmDecider, [booted(), shuttingDown])
        .when(new ReportServiceVmShuttingDown({ deviceId, action: 'reboot' }))
        .then([]);
    });

    it('refuses an unknown action and a Service VM that never booted', () => {
      given(serviceVmDecider, [booted()])
        .when(new ReportServiceVmShuttingDown({ deviceId, action: 'hibernate' as 'reboot' }))
        .thenRejects('INVALID_COMMAND');
      given(serviceVmDecider)
        .when(new ReportServiceVmShuttingDown({ deviceId, action: 'shutdown' }))
        .thenRejects('SERVICE_VM_NOT_FOUND');
    });
  });

  describe('ReportDeviceModelHealth', () => {
    it('records a change of the Device Model health, and nothing for a repeat', () => {
      const degraded = serviceVmEvent('DeviceModelHealthChanged', {
        deviceId,
        health: 'degraded',
        previous: null,
        detail: 'acrn-dm of RT_VM1 does not answer DM_QUERY',
        at: T0,
      });
      const state = given(serviceVmDecider, [booted()])
        .when(
          new ReportDeviceModelHealth({ deviceId, health: 'degraded', detail: degraded.data.detail, at: T0 }),
        )
        .then([degraded]);
      expect(state.deviceModel).toEqual({ health: 'degraded', since: T0, detail: degraded.data.detail });
      given(serviceVmDecider, [booted(), degraded])
        .when(new ReportDeviceModelHealth({ deviceId, health: 'degraded', detail: degraded.data.detail }))
        .then([]);
      given(serviceVmDecider, [booted(), degraded])
        .when(new ReportDeviceModelHealth({ deviceId, health: 'healthy' }))
        .thenMatches([
          { type: 'DeviceModelHealthChanged', data: { health: 'healthy', previous: 'degraded', detail: '' } },
        ]);
    });

    it('refuses an unknown health and a Service VM that never booted', () => {
      given(serviceVmDecider, [booted()])
        .when(new ReportDeviceModelHealth({ deviceId, health: 'meh' as 'healthy' }))
        .thenRejects('INVALID_COMMAND');
      given(serviceVmDecider)
        .when(new ReportDeviceModelHealth({ deviceId, health: 'failed' }))
        .thenRejects('SERVICE_VM_NOT_FOUND');
    });
  });
});
