import { modifyBoard, sampleBoard } from '@hyperfleet/acrn';
import { TEST_NOW, given } from '../testing';
import {
  MarkDeviceOffline,
  MarkDeviceOnline,
  ProvisionDevice,
  ReportBoardInventory,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  UpdateDeviceLabels,
} from './hypervisor.commands';
import { hypervisorDecider, isPlanInSync } from './hypervisor.decider';
import { hypervisorEvent } from './hypervisor.events';

const deviceId = 'truck-0042';
const provisioned = hypervisorEvent('DeviceProvisioned', {
  deviceId,
  deviceClass: 'vehicle',
  site: 'depot-north',
  tags: ['eu', 'line-3'],
  at: '2025-06-01T00:00:00.000Z',
});
const boardReported = hypervisorEvent('BoardInventoryReported', {
  deviceId,
  board: sampleBoard(),
  at: '2025-06-01T01:00:00.000Z',
});
const online = (at: string) => hypervisorEvent('DeviceWentOnline', { deviceId, at });
const offline = (at: string, lastSeenAt = at) =>
  hypervisorEvent('DeviceWentOffline', { deviceId, at, lastSeenAt });

describe('Hypervisor', () => {
  describe('ProvisionDevice', () => {
    it('provisions a new device with its class, site and sorted, distinct tags', () => {
      const state = given(hypervisorDecider)
        .when(
          new ProvisionDevice({
            deviceId,
            deviceClass: 'vehicle',
            site: ' depot-north ',
            tags: ['line-3', 'eu', 'eu'],
          }),
        )
        .then([
          hypervisorEvent('DeviceProvisioned', {
            deviceId,
            deviceClass: 'vehicle',
            site: 'depot-north',
            tags: ['eu', 'line-3'],
            at: TEST_NOW,
          }),
        ]);
      expect(state).toMatchObject({
        provisioned: true,
        deviceClass: 'vehicle',
        connectivity: { status: 'never-seen' },
      });
    });

    it('rejects a device that is already provisioned', () => {
      given(hypervisorDecider, [provisioned])
        .when(new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'plant-2' }))
        .thenRejects('DEVICE_ALREADY_PROVISIONED', { deviceId, deviceClass: 'vehicle' });
    });

    it('rejects an unknown device class, an empty site and a malformed device id, naming each field', () => {
      const rejection = given(hypervisorDecider)
        .when(new ProvisionDevice({ deviceId: 'bad id', deviceClass: 'tractor' as 'vehicle', site: '' }))
        .thenRejects('INVALID_COMMAND');
      expect(rejection.details.errors).toEqual([
        'deviceId: must be a device id',
        'deviceClass: must be one of vehicle, industrial-pc',
        'site: must be a non-empty string of at most 200 characters',
      ]);
      expect(rejection.httpStatus).toBe(422);
    });
  });

  describe('UpdateDeviceLabels', () => {
    it('changes site and tags', () => {
      given(hypervisorDecider, [provisioned])
        .when(new UpdateDeviceLabels({ deviceId, site: 'depot-south' }))
        .then([
          hypervisorEvent('DeviceLabelsUpdated', {
            deviceId,
            site: 'depot-south',
            tags: ['eu', 'line-3'],
            at: TEST_NOW,
          }),
        ]);
    });

    it('appends nothing when nothing changes', () => {
      given(hypervisorDecider, [provisioned])
        .when(new UpdateDeviceLabels({ deviceId, tags: ['line-3', 'eu'] }))
        .then([]);
    });

    it('rejects an unprovisioned device', () => {
      given(hypervisorDecider)
        .when(new UpdateDeviceLabels({ deviceId, site: 'x' }))
        .thenRejects('DEVICE_NOT_PROVISIONED');
    });
  });

  describe('ReportBoardInventory', () => {
    it('records a board that passes the ACRN board schema', () => {
      const state = given(hypervisorDecider, [provisioned])
        .when(new ReportBoardInventory({ deviceId, board: sampleBoard(), at: '2025-06-01T01:00:00.000Z' }))
        .then([boardReported]);
      expect(state.board?.name).toBe('tgl-i7-1185gre');
      expect(state.connectivity.lastSeenAt).toBe('2025-06-01T01:00:00.000Z');
    });

    it('appends nothing for the same board again, whatever the key order', () => {
      const reordered = Object.fromEntries(Object.entries(sampleBoard()).reverse());
      given(hypervisorDecider, [provisioned, boardReported])
        .when(new ReportBoardInventory({ deviceId, board: reordered }))
        .then([]);
    });

    it('records a changed board', () => {
      const upgraded = modifyBoard(sampleBoard(), (b) => {
        b.memory.totalBytes += 0;
        b.cpuModel = 'changed';
      });
      given(hypervisorDecider, [provisioned, boardReported])
        .when(new ReportBoardInventory({ deviceId, board: upgraded }))
        .thenMatches([{ type: 'BoardInventoryReported', data: { board: { cpuModel: 'changed' } } }]);
    });

    it('rejects a board that breaks the schema, with the schema errors', () => {
      const broken = modifyBoard(sampleBoard(), (b) => {
        b.pcpus[1].id = 0;
      });
      const rejection = given(hypervisorDecider, [provisioned])
        .when(new ReportBoardInventory({ deviceId, board: broken }))
        .thenRejects('INVALID_BOARD_INVENTORY');
      expect(rejection.details.errors).toEqual(
        expect.arrayContaining([expect.stringContaining('listed twice')]),
      );
    });

    it('rejects an unprovisioned device', () => {
      given(hypervisorDecider)
        .when(new ReportBoardInventory({ deviceId, board: sampleBoard() }))
        .thenRejects('DEVICE_NOT_PROVISIONED', { deviceId });
    });
  });

  describe('ReportHypervisorVersion', () => {
    it('records the version and scenario with the previous version', () => {
      const first = hypervisorEvent('HypervisorVersionReported', {
        deviceId,
        version: '3.2',
        scenario: 'hybrid_rt',
        previousVersion: null,
        at: TEST_NOW,
      });
      given(hypervisorDecider, [provisioned])
        .when(new ReportHypervisorVersion({ deviceId, version: '3.2', scenario: 'hybrid_rt' }))
        .then([first]);
      given(hypervisorDecider, [provisioned, first])
        .when(new ReportHypervisorVersion({ deviceId, version: '3.3', scenario: 'hybrid_rt' }))
        .thenMatches([
          { type: 'HypervisorVersionReported', data: { version: '3.3', previousVersion: '3.2' } },
        ]);
      given(hypervisorDecider, [provisioned, first])
        .when(new ReportHypervisorVersion({ deviceId, version: '3.2', scenario: 'hybrid_rt' }))
        .then([]);
    });

    it('rejects an unprovisioned device and an empty version', () => {
      given(hypervisorDecider)
        .when(new ReportHypervisorVersion({ deviceId, version: '3.2', scenario: 'shared' }))
        .thenRejects('DEVICE_NOT_PROVISIONED');
      given(hypervisorDecider, [provisioned])
        .when(new ReportHypervisorVersion({ deviceId, version: '', scenario: 'shared' }))
        .thenRejects('INVALID_COMMAND');
    });
  });

  describe('connectivity', () => {
    it('goes online and offline, keeping the last time the device was seen', () => {
      let state = given(hypervisorDecider, [provisioned])
        .when(new MarkDeviceOnline({ deviceId, at: '2025-06-02T07:00:00.000Z' }))
        .then([online('2025-06-02T07:00:00.000Z')]);
      expect(state.connectivity).toEqual({
        status: 'online',
        since: '2025-06-02T07:00:00.000Z',
        lastSeenAt: '2025-06-02T07:00:00.000Z',
      });
      state = given(hypervisorDecider, [provisioned, online('2025-06-02T07:00:00.000Z')])
        .when(
          new MarkDeviceOffline({
            deviceId,
            at: '2025-06-02T07:30:00.000Z',
            lastSeenAt: '2025-06-02T07:29:00.000Z',
          }),
        )
        .then([offline('2025-06-02T07:30:00.000Z', '2025-06-02T07:29:00.000Z')]);
      expect(state.connectivity).toEqual({
        status: 'offline',
        since: '2025-06-02T07:30:00.000Z',
        lastSeenAt: '2025-06-02T07:29:00.000Z',
      });
    });

    it('offline without lastSeenAt uses the last time the device was seen', () => {
      given(hypervisorDecider, [provisioned, online('2025-06-02T07:00:00.000Z')])
        .when(new MarkDeviceOffline({ deviceId, at: '2025-06-02T07:30:00.000Z' }))
        .then([offline('2025-06-02T07:30:00.000Z', '2025-06-02T07:00:00.000Z')]);
    });

    it('ignores a repeat of the current status', () => {
      given(hypervisorDecider, [provisioned, online('2025-06-02T07:00:00.000Z')])
        .when(new MarkDeviceOnline({ deviceId, at: '2025-06-02T07:05:00.000Z' }))
        .then([]);
      given(hypervisorDecider, [provisioned, offline('2025-06-02T07:00:00.000Z')])
        .when(new MarkDeviceOffline({ deviceId, at: '2025-06-02T07:05:00.000Z' }))
        .then([]);
    });

    it('ignores a last will older than the reconnect that followed it', () => {
      const events = [provisioned, offline('2025-06-02T07:00:00.000Z'), online('2025-06-02T07:10:00.000Z')];
      given(hypervisorDecider, events)
        .when(new MarkDeviceOffline({ deviceId, at: '2025-06-02T07:09:00.000Z' }))
        .then([]);
      given(hypervisorDecider, [
        provisioned,
        online('2025-06-02T07:10:00.000Z'),
        offline('2025-06-02T07:20:00.000Z'),
      ])
        .when(new MarkDeviceOnline({ deviceId, at: '2025-06-02T07:15:00.000Z' }))
        .then([]);
    });

    it('rejects an unprovisioned device and a malformed time', () => {
      given(hypervisorDecider).when(new MarkDeviceOnline({ deviceId })).thenRejects('DEVICE_NOT_PROVISIONED');
      given(hypervisorDecider)
        .when(new MarkDeviceOffline({ deviceId }))
        .thenRejects('DEVICE_NOT_PROVISIONED');
      const rejection = given(hypervisorDecider, [provisioned])
        .when(new MarkDeviceOnline({ deviceId, at: 'yesterday' }))
        .thenRejects('INVALID_COMMAND');
      expect(rejection.details.errors).toEqual([expect.stringContaining('at: must be an ISO-8601')]);
    });
  });

  describe('ReportPartitionPlan', () => {
    const assigned = hypervisorEvent('PartitionPlanAssigned', {
      deviceId,
      planId: 'hybrid-rt',
      revision: 2,
      deviceClass: 'vehicle',
      boardName: 'tgl-i7-1185gre',
      warnings: [],
      previous: null,
      at: '2025-06-01T02:00:00.000Z',
    });

    it('records the running plan and whether it is the desired one', () => {
      const state = given(hypervisorDecider, [provisioned, boardReported, assigned])
        .when(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 2 }))
        .then([
          hypervisorEvent('PartitionPlanReported', {
            deviceId,
            planId: 'hybrid-rt',
            revision: 2,
            matchesDesired: true,
            at: TEST_NOW,
          }),
        ]);
      expect(isPlanInSync(state)).toBe(true);
      const stale = given(hypervisorDecider, [provisioned, boardReported, assigned])
        .when(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 1 }))
        .thenMatches([{ type: 'PartitionPlanReported', data: { revision: 1, matchesDesired: false } }]);
      expect(isPlanInSync(stale)).toBe(false);
    });

    it('appends nothing for the same plan again, and rejects bad input and unprovisioned devices', () => {
      const reported = hypervisorEvent('PartitionPlanReported', {
        deviceId,
        planId: 'hybrid-rt',
        revision: 2,
        matchesDesired: true,
        at: TEST_NOW,
      });
      given(hypervisorDecider, [provisioned, assigned, reported])
        .when(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 2 }))
        .then([]);
      given(hypervisorDecider, [provisioned])
        .when(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 0 }))
        .thenRejects('INVALID_COMMAND');
      given(hypervisorDecider)
        .when(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 1 }))
        .thenRejects('DEVICE_NOT_PROVISIONED');
    });
  });
});
