import type { ProjectedEvent } from '../framework/projection';
import { INVENTORY_EVENT_TYPES, MalformedInventoryEventError, foldInventory } from './inventory.fold';
import { DEVICE_PATCH_FIELDS, VM_PATCH_FIELDS, pgArrayLiteral } from './inventory.projection';

const positions = new Map<string, number>();
function ev(streamId: string, type: string, data: Record<string, unknown>): ProjectedEvent {
  const streamPosition = (positions.get(streamId) ?? 0) + 1;
  positions.set(streamId, streamPosition);
  return {
    id: `${streamId}:${streamPosition}`,
    type,
    streamId,
    streamPosition,
    logPosition: `1/${streamPosition}`,
    time: '2026-01-01T00:00:00.000Z',
    data,
    key: String(data.deviceId),
  };
}
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 8, 0, s)).toISOString();
const vm = (type: string, data: Record<string, unknown> = {}, s = 0) =>
  ev('rt-vm-d1.RT1', type, { deviceId: 'd1', vmName: 'RT1', at: at(s), ...data });

describe('foldInventory', () => {
  beforeEach(() => positions.clear());

  it('handles every Hypervisor, ServiceVm and RtVm event type, and no plan events', () => {
    expect(INVENTORY_EVENT_TYPES).toHaveLength(9 + 6 + 11 + 4);
    expect(INVENTORY_EVENT_TYPES).not.toContain('PartitionPlanCreated');
  });

  it('folds a VM that is not an RTVM (stream vm-…) into a VM row with its vm type', () => {
    const std = (type: string, data: Record<string, unknown> = {}, s = 0) =>
      ev('vm-d1.HMI_VM', type, { deviceId: 'd1', vmName: 'HMI_VM', at: at(s), ...data });
    const { vms, devices } = foldInventory([
      std('VmRegistered', {
        vmType: 'STANDARD_VM',
        loadOrder: 'POST_LAUNCHED_VM',
        pcpus: [2],
        imageVersion: null,
        state: 'stopped',
      }),
      std('VmStateReported', { state: 'started', previousState: 'stopped' }, 5),
    ]);
    expect(vms).toEqual([
      {
        device_id: 'd1',
        vm_name: 'HMI_VM',
        stream_version: 2,
        last_event_at: at(5),
        registered: true,
        vm_type: 'STANDARD_VM',
        load_order: 'POST_LAUNCHED_VM',
        pinned_pcpus: [2],
        state: 'started',
        registered_at: at(0),
        deleted_at: null,
      },
    ]);
    expect(devices[0]).toMatchObject({ vms: true, last_seen_at: at(5) });
  });

  it('folds one device stream into one patch: last value wins, times kept at their latest', () => {
    const hv = (type: string, data: Record<string, unknown>) =>
      ev('hypervisor-d1', type, { deviceId: 'd1', ...data });
    const { devices, vms } = foldInventory([
      hv('DeviceProvisioned', { deviceClass: 'vehicle', site: 's1', tags: ['a'], at: at(0) }),
      hv('DeviceWentOnline', { at: at(10) }),
      hv('BoardInventoryReported', { board: { name: 'nuc', pcpus: [{}, {}, {}, {}] }, at: at(5) }),
      hv('DeviceLabelsUpdated', { site: 's2', tags: ['a', 'b'], at: at(11) }),
      hv('DeviceWentOffline', { at: at(20), lastSeenAt: at(18) }),
      hv('PartitionPlanAssigned', { planId: 'p', revision: 2, warnings: [{}], at: at(21) }),
    ]);
    expect(vms).toEqual([]);
    expect(devices).toEqual([
      {
        device_id: 'd1',
        hypervisor_stream_version: 6,
        last_event_at: at(21),
        device_class: 'vehicle',
        site: 's2',
        tags: ['a', 'b'],
        provisioned_at: at(0),
        connectivity: 'offline',
        connectivity_since: at(20),
        went_online_at: at(10),
        went_offline_at: at(20),
        last_seen_at: at(18),
        board_name: 'nuc',
        board_cpu_model: null,
        pcpu_count: 4,
        board_reported_at: at(5),
        desired_plan_id: 'p',
        desired_plan_revision: 2,
        desired_plan_assigned_at: at(21),
        desired_plan_warnings: 1,
      },
    ]);
  });

  it('counts Service VM boots as an increment and keeps the lifecycle', () => {
    const svm = (type: string, data: Record<string, unknown>) =>
      ev('service-vm-d1', type, { deviceId: 'd1', ...data });
    const [d] = foldInventory([
      svm('ServiceVmBooted', { osImageVersion: '1.0', kernelVersion: null, at: at(0) }),
      svm('ServiceVmRebootRequested', { reason: 'x', at: at(1) }),
      svm('ServiceVmShuttingDown', { action: 'reboot', at: at(2) }),
      svm('ServiceVmBooted', { osImageVersion: '1.1', kernelVersion: '6.1', at: at(3) }),
      svm('ServiceVmOsImageChanged', { from: '1.0', to: '1.1', at: at(3) }),
    ]).devices;
    expect(d).toMatchObject({
      service_vm_stream_version: 5,
      service_vm_boots_add: 2,
      service_vm_os_image_version: '1.1',
      service_vm_kernel_version: '6.1',
      service_vm_previous_os_image_version: '1.0',
      service_vm_lifecycle: 'running',
      service_vm_lifecycle_since: at(3),
      last_seen_at: at(3),
    });
  });

  it('an RT VM: breaches add up unless a registration in the batch made them absolute', () => {
    const before = foldInventory([
      vm('RtVmLatencyReported', { worstCaseUs: 70, budgetUs: 50 }, 1),
      vm('RtVmLatencyBudgetBreached', { worstCaseUs: 70, budgetUs: 50, excessUs: 20 }, 1),
      vm('RtVmLatencyBudgetBreached', { worstCaseUs: 70, budgetUs: 50, excessUs: 20 }, 2),
    ]);
    expect(before.vms[0]).toMatchObject({ budget_breaches_add: 2, last_worst_case_us: 70 });
    expect(before.vms[0]).not.toHaveProperty('budget_breaches');
    // The VM's device: its summary is recomputed, and the reports count as "seen".
    expect(before.devices).toEqual([
      { device_id: 'd1', vms: true, last_event_at: at(2), last_seen_at: at(2) },
    ]);

    positions.clear();
    const fresh = foldInventory([
      vm('RtVmLatencyBudgetBreached', { worstCaseUs: 70, budgetUs: 50, excessUs: 20 }, 1),
      vm('RtVmDeleted', {}, 2),
      vm(
        'RtVmRegistered',
        { loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus: [2], latencyBudgetUs: 80, state: 'stopped' },
        3,
      ),
      vm('RtVmLatencyBudgetBreached', { worstCaseUs: 90, budgetUs: 80, excessUs: 10 }, 4),
    ]).vms[0];
    expect(fresh).toMatchObject({
      registered: true,
      budget_breaches: 1,
      stream_version: 4,
      deleted_at: null,
    });
    expect(fresh).not.toHaveProperty('budget_breaches_add');
  });

  it('a power-off ends a pending stop it knows of, keeps a pending reset, and defers to the row otherwise', () => {
    expect(
      foldInventory([vm('RtVmStopRequested', {}, 1), vm('RtVmPoweredOff', { previousState: 'started' }, 2)])
        .vms[0],
    ).toMatchObject({ state: 'stopped', pending_operation: null, pending_since: null });
    positions.clear();
    expect(
      foldInventory([
        vm('RtVmResetRequested', {}, 1),
        vm('RtVmTripleFaulted', { previousState: 'started', tripleFaults: 3 }, 2),
      ]).vms[0],
    ).toMatchObject({
      state: 'stopped',
      pending_operation: 'reset',
      pending_since: at(1),
      triple_faults: 3,
      last_triple_fault_at: at(2),
    });
    positions.clear();
    const unknown = foldInventory([vm('RtVmPoweredOff', { previousState: 'started' }, 2)]).vms[0];
    expect(unknown).toMatchObject({ state: 'stopped', clear_stop: true });
    expect(unknown).not.toHaveProperty('pending_operation');
    positions.clear();
    // A reported state is authoritative: it clears what is pending, known or not.
    const reported = foldInventory([
      vm('RtVmPoweredOff', { previousState: 'started' }, 1),
      vm('RtVmStateReported', { state: 'started', previousState: 'stopped' }, 2),
    ]).vms[0];
    expect(reported).toMatchObject({ state: 'started', pending_operation: null });
    expect(reported).not.toHaveProperty('clear_stop');
  });

  it('keeps separate patches per device and per VM, and ignores other event types', () => {
    const { devices, vms } = foldInventory([
      ev('rt-vm-a.X', 'RtVmStarted', { deviceId: 'a', vmName: 'X', at: at(1) }),
      ev('rt-vm-a.Y', 'RtVmStarted', { deviceId: 'a', vmName: 'Y', at: at(2) }),
      ev('hypervisor-b', 'DeviceWentOnline', { deviceId: 'b', at: at(3) }),
      ev('partition-plan-p', 'PartitionPlanCreated', { planId: 'p', at: at(4) }),
    ]);
    expect(devices.map((d) => d.device_id)).toEqual(['a', 'b']);
    expect(vms.map((v) => [v.device_id, v.vm_name, v.state])).toEqual([
      ['a', 'X', 'started'],
      ['a', 'Y', 'started'],
    ]);
    // Started is an operator's command, not a fact from the device.
    expect(devices[0]).not.toHaveProperty('last_seen_at');
  });

  it('refuses an event of a handled type without its ids (the runner parks it)', () => {
    expect(() => foldInventory([ev('rt-vm-x', 'RtVmStarted', { deviceId: 'd1', at: at(0) })])).toThrow(
      MalformedInventoryEventError,
    );
    expect(() => foldInventory([ev('hypervisor-x', 'DeviceWentOnline', { at: at(0) })])).toThrow(
      /DeviceWentOnline hypervisor-x@1: data.deviceId is missing/,
    );
  });

  it('emits only fields the SQL side sends, for every event type', () => {
    const data = {
      deviceId: 'd1',
      vmName: 'RT1',
      at: at(1),
      lastSeenAt: at(1),
      board: { name: 'b', pcpus: [] },
      warnings: [],
      tags: [],
    };
    const patches = INVENTORY_EVENT_TYPES.map((type) =>
      foldInventory([ev(type.startsWith('RtVm') ? 'rt-vm-d1.RT1' : `s-${type}`, type, data)]),
    );
    patches.push(
      foldInventory([
        vm('RtVmDeleted'),
        vm('RtVmRegistered', {
          loadOrder: 'POST_LAUNCHED_VM',
          pinnedPcpus: [2],
          latencyBudgetUs: 5,
          state: 'stopped',
        }),
        vm('RtVmLatencyBudgetBreached'),
        vm('RtVmPoweredOff'),
      ]),
    );
    for (const { devices, vms } of patches) {
      for (const d of devices) expect(DEVICE_PATCH_FIELDS).toEqual(expect.arrayContaining(Object.keys(d)));
      for (const v of vms) expect(VM_PATCH_FIELDS).toEqual(expect.arrayContaining(Object.keys(v)));
    }
  });
});

describe('pgArrayLiteral', () => {
  it('quotes text and leaves numbers', () => {
    expect(pgArrayLiteral([2, 3])).toBe('{2,3}');
    expect(pgArrayLiteral([])).toBe('{}');
    expect(pgArrayLiteral(['eu', 'a "b"', 'c\\d', 'x,y', 'NULL'])).toBe(
      '{"eu","a \\"b\\"","c\\\\d","x,y","NULL"}',
    );
  });
});
