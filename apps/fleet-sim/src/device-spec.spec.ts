import { boardSchema, checkPartitionPlan, sampleBoard } from '@hyperfleet/acrn';
import { isValidDeviceId } from '@hyperfleet/contracts';
import { BOARD_FAMILIES, deviceIdFor, generateDeviceSpec, type DeviceSpec } from './device-spec';

const fleet = (seed: number, n: number, prefix = 'sim'): DeviceSpec[] =>
  Array.from({ length: n }, (_, i) => generateDeviceSpec(seed, i, deviceIdFor(prefix, i)));

/** The spec without the id, to compare devices across prefixes. */
const shape = ({ deviceId: _id, ...rest }: DeviceSpec) => rest;

describe('generateDeviceSpec', () => {
  const devices = fleet(1, 400);

  it('gives the same devices for the same seed, whatever the id prefix', () => {
    expect(fleet(1, 50, 'other').map(shape)).toEqual(devices.slice(0, 50).map(shape));
    expect(fleet(2, 50).map(shape)).not.toEqual(devices.slice(0, 50).map(shape));
  });

  it('uses device ids of the protocol charset', () => {
    expect(deviceIdFor('sim', 42)).toBe('sim-00042');
    expect(deviceIdFor('sim', 123456)).toBe('sim-123456');
    for (const d of devices) expect(isValidDeviceId(d.deviceId)).toBe(true);
    expect(() => generateDeviceSpec(1, 0, 'bad/id')).toThrow(/invalid device id/);
  });

  it('builds boards of 4 to 16 pCPUs that pass the strict board schema, with CAT caches', () => {
    const sizes = new Set<number>();
    for (const d of devices) {
      expect(boardSchema.safeParse(d.board).success).toBe(true);
      expect(d.board.pcpus.length).toBeGreaterThanOrEqual(4);
      expect(d.board.pcpus.length).toBeLessThanOrEqual(16);
      expect(d.board.caches.some((c) => c.cat !== undefined)).toBe(true);
      sizes.add(d.board.pcpus.length);
    }
    expect([...sizes].sort((a, b) => a - b)).toEqual([4, 6, 8, 12, 16]);
    expect(new Set(devices.map((d) => d.board.name))).toEqual(new Set(BOARD_FAMILIES.map((f) => f.name)));
    // The i7-1185GRE is sampleBoard() itself.
    const tgl = devices.find(
      (d) =>
        d.board.name === 'tgl-i7-1185gre' && d.board.memory.totalBytes === sampleBoard().memory.totalBytes,
    );
    expect(tgl?.board).toEqual(sampleBoard());
  });

  it('gives each device a Service VM and 1-3 RT VMs on their own pCPUs, never pCPU 0', () => {
    for (const d of devices) {
      const rt = d.vms.filter((vm) => vm.vmType === 'RTVM');
      expect(rt.length).toBeGreaterThanOrEqual(1);
      expect(rt.length).toBeLessThanOrEqual(3);
      const owners = new Map<number, string>();
      for (const vm of rt) {
        expect(vm.pcpus).not.toContain(0);
        expect(vm.latencyBudgetUs).toBeGreaterThan(0);
        expect(vm.baseLatency!.minUs).toBeLessThanOrEqual(vm.baseLatency!.avgUs);
        expect(vm.baseLatency!.avgUs).toBeLessThanOrEqual(vm.baseLatency!.worstUs);
        for (const p of vm.pcpus) {
          expect(owners.has(p)).toBe(false);
          owners.set(p, vm.name);
        }
      }
      for (const vm of d.vms.filter((v) => v.vmType !== 'RTVM')) {
        for (const p of vm.pcpus) expect(owners.has(p)).toBe(false);
      }
      // ACRN: at most one pre-launched RTVM, and pre- and post-launched RTVMs do not mix.
      const orders = new Set(rt.map((vm) => vm.loadOrder));
      expect(orders.size).toBe(1);
      if (orders.has('PRE_LAUNCHED_VM')) expect(rt).toHaveLength(1);
      expect(d.scenarioKind).toBe(orders.has('PRE_LAUNCHED_VM') ? 'hybrid' : 'shared');
    }
  });

  it('spreads classes, scenarios, sites and tags', () => {
    expect(new Set(devices.map((d) => d.deviceClass))).toEqual(new Set(['vehicle', 'industrial-pc']));
    expect(new Set(devices.map((d) => d.scenarioKind))).toEqual(new Set(['shared', 'hybrid']));
    expect(new Set(devices.map((d) => d.vms.filter((v) => v.vmType === 'RTVM').length))).toEqual(
      new Set([1, 2, 3]),
    );
    expect(new Set(devices.map((d) => d.site)).size).toBeGreaterThan(5);
    for (const d of devices) expect(d.tags.some((t) => t.startsWith('ring:'))).toBe(true);
  });

  it('comes with a partition plan that passes every ACRN configurator check (no errors)', () => {
    for (const d of devices) {
      const report = checkPartitionPlan(d.plan, d.board);
      if (!report.ok)
        throw new Error(`${d.deviceId} (${d.board.name}): ${report.errors.map((e) => e.code).join(', ')}`);
      expect(d.plan.vms.map((v) => v.name).sort()).toEqual(
        ['Service_VM', ...d.vms.map((v) => v.name)].sort(),
      );
    }
  });
});
