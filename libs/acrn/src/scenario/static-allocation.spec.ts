import { sampleBoard, samplePlan } from '../fixtures';
import { buildPlan, modifyPlan, postLaunchedVm, preLaunchedRtvm, serviceVm } from '../testing/builders';
import type { CacheAllocation, PartitionPlan } from './plan';
import { allocateClos, effectiveCpuAffinity, serviceVmPcpus, vcpuCount } from './static-allocation';

function withPolicies(
  allocations: CacheAllocation[],
  rdt: Partial<PartitionPlan['hv']['rdt']> = {},
): PartitionPlan {
  return buildPlan(
    [
      preLaunchedRtvm(0, 'RT', [3, 7]),
      serviceVm(1, 'SOS'),
      postLaunchedVm(2, 'A', [1, 2], { virtualCatSupport: true }),
      postLaunchedVm(3, 'B', [5]),
    ],
    { hv: { rdt: { rdtEnabled: true, ...rdt }, cacheAllocations: allocations } },
  );
}

const l3 = (policies: CacheAllocation['policies']): CacheAllocation => ({
  cacheId: 0,
  cacheLevel: 3,
  policies,
});
const l2 = (cacheId: number, policies: CacheAllocation['policies']): CacheAllocation => ({
  cacheId,
  cacheLevel: 2,
  policies,
});

describe('Service VM pCPUs (cpu_affinity.py)', () => {
  it('gives the Service VM every pCPU no pre-launched VM uses', () => {
    expect(serviceVmPcpus(samplePlan(), sampleBoard())).toEqual([0, 1, 2, 4, 5, 6]);
  });

  it('keeps post-launched VM pCPUs inside the Service VM set', () => {
    expect(effectiveCpuAffinity(samplePlan(), sampleBoard())).toEqual({
      0: [3, 7],
      1: [0, 1, 2, 4, 5, 6],
      2: [1, 2],
    });
  });

  it('respects an explicit Service VM affinity', () => {
    const plan = modifyPlan(
      samplePlan(),
      (p) => (p.vms[1].cpuAffinity = [{ pcpuId: 0, realTimeVcpu: false }]),
    );
    expect(serviceVmPcpus(plan, sampleBoard())).toEqual([0]);
    expect(vcpuCount(plan, sampleBoard(), plan.vms[1])).toBe(1);
  });

  it('returns nothing without a Service VM', () => {
    expect(serviceVmPcpus(buildPlan([preLaunchedRtvm(0, 'RT', [1])]), sampleBoard())).toEqual([]);
  });
});

describe('CLOS allocation (clos.py)', () => {
  it('needs one CLOS per distinct set of masks in the sample plan', () => {
    const allocation = allocateClos(samplePlan());
    expect(allocation.closNeeded).toBe(2);
    expect(allocation.entries.map((e) => e.masks)).toEqual([
      { 'L2:3': 0xfffff, 'L3:0': 0x700 },
      { 'L3:0': 0xff },
    ]);
    expect(allocation.vcpuClos).toEqual({
      RT_VM0: [0, 0],
      ACRN_Service_VM: [1, 1, 1, 1, 1, 1],
      HMI_VM: [1, 1],
    });
  });

  it('gives distinct masks distinct CLOS and equal masks one', () => {
    const plan = withPolicies([
      l3([
        { vm: 'RT', vcpu: 0, type: 'Unified', closMask: '0xf00' },
        { vm: 'RT', vcpu: 1, type: 'Unified', closMask: '0x0f0' },
        { vm: 'SOS', vcpu: 0, type: 'Unified', closMask: '0x00f' },
        { vm: 'B', vcpu: 0, type: 'Unified', closMask: '0x0f0' },
      ]),
    ]);
    expect(allocateClos(plan)).toMatchObject({ closNeeded: 3, vcpuClos: { RT: [0, 1], SOS: [2], B: [1] } });
  });

  it('merges owners whose masks agree on every cache both name', () => {
    // RT vCPU 0 names L2 3 and L3; SOS vCPU 0 names only L3 with the same mask: one CLOS.
    const plan = withPolicies([
      l2(3, [{ vm: 'RT', vcpu: 0, type: 'Unified', closMask: '0xff' }]),
      l3([
        { vm: 'RT', vcpu: 0, type: 'Unified', closMask: '0x0f0' },
        { vm: 'SOS', vcpu: 0, type: 'Unified', closMask: '0x0f0' },
      ]),
    ]);
    const allocation = allocateClos(plan);
    expect(allocation.closNeeded).toBe(1);
    expect(allocation.entries[0].masks).toEqual({ 'L2:3': 0xff, 'L3:0': 0xf0 });
  });

  it('does not let a merged owner hide a later conflict (merges adopt every mask)', () => {
    const plan = withPolicies([
      l2(3, [{ vm: 'RT', vcpu: 0, type: 'Unified', closMask: '0xff' }]),
      l3([
        { vm: 'SOS', vcpu: 0, type: 'Unified', closMask: '0x0f0' },
        { vm: 'B', vcpu: 0, type: 'Unified', closMask: '0x00f' },
      ]),
    ]);
    // RT merges with SOS (no common cache); B's L3 mask differs from the adopted 0x0f0.
    expect(allocateClos(plan).closNeeded).toBe(2);
  });

  it('needs a Code and a Data CLOS per owner with CDP', () => {
    const plan = withPolicies(
      [
        l3([
          { vm: 'RT', vcpu: 0, type: 'Code', closMask: '0xf00' },
          { vm: 'RT', vcpu: 0, type: 'Data', closMask: '0x0f0' },
          { vm: 'SOS', vcpu: 0, type: 'Code', closMask: '0x00f' },
          { vm: 'SOS', vcpu: 0, type: 'Data', closMask: '0x00f' },
        ]),
      ],
      { cdpEnabled: true },
    );
    const allocation = allocateClos(plan);
    expect(allocation.closNeeded).toBe(4);
    expect(allocation.vcpuClos).toEqual({ RT: [0], SOS: [1] });
  });

  it('never merges a vCAT VM with anyone', () => {
    const plan = withPolicies(
      [
        l3([
          { vm: 'B', vcpu: 0, type: 'Unified', closMask: '0x00f' },
          { vm: 'A', vcpu: 0, type: 'Unified', closMask: '0x00f' },
          { vm: 'A', vcpu: 1, type: 'Unified', closMask: '0x00f' },
        ]),
      ],
      { vcatEnabled: true },
    );
    expect(allocateClos(plan).closNeeded).toBe(3);
  });

  it('needs no CLOS without policies', () => {
    expect(allocateClos(withPolicies([]))).toEqual({ closNeeded: 0, entries: [], vcpuClos: {} });
  });
});
