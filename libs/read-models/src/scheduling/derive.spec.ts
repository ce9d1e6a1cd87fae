import {
  modifyPlan,
  sampleBoard,
  samplePlan,
  smallBoard,
  vmNamed,
  type PartitionPlan,
} from '@hyperfleet/acrn';
import { DerivationCache, allocationOf, deriveScheduling, refKey, type PlanRef } from './derive';

const r1: PlanRef = { planId: 'p', revision: 1 };
const r2: PlanRef = { planId: 'p', revision: 2 };
const plans = (entries: [PlanRef, PartitionPlan][]) => {
  const m = new Map(entries.map(([r, p]) => [refKey(r), p]));
  return (ref: PlanRef) => m.get(refKey(ref)) ?? null;
};

describe('deriveScheduling', () => {
  it('no plan assigned: never drift, whatever the device reports', () => {
    const d = deriveScheduling({ board: sampleBoard(), assigned: null, reported: r1, pins: [] }, plans([]));
    expect(d).toMatchObject({ planStatus: 'unassigned', drift: false, driftReasons: [], assigned: null });
  });

  it('drift reasons: not reported, mismatch, violations; several at once', () => {
    const p = plans([
      [r1, samplePlan()],
      [r2, samplePlan()],
    ]);
    const facts = { board: sampleBoard(), pins: [] };
    expect(deriveScheduling({ ...facts, assigned: r1, reported: null }, p).driftReasons).toEqual([
      'PLAN_NOT_REPORTED',
    ]);
    expect(deriveScheduling({ ...facts, assigned: r2, reported: r1 }, p).driftReasons).toEqual([
      'PLAN_MISMATCH',
    ]);
    expect(deriveScheduling({ ...facts, assigned: r1, reported: r1 }, p)).toMatchObject({
      planStatus: 'in-sync',
      drift: false,
    });
    const small = deriveScheduling({ board: smallBoard(), pins: [], assigned: r2, reported: r1 }, p);
    expect(small.driftReasons).toEqual(['PLAN_MISMATCH', 'PLAN_VIOLATIONS']);
    expect(small.errorCount).toBeGreaterThan(0);
  });

  it('an assigned revision not known yet: no allocation, no violations, status still from the refs', () => {
    const d = deriveScheduling({ board: sampleBoard(), assigned: r1, reported: r1, pins: [] }, plans([]));
    expect(d).toMatchObject({
      planStatus: 'in-sync',
      assignedPlanKnown: false,
      assigned: null,
      drift: false,
    });
  });

  it('pinning: match, mismatch (order counts), not in the plan, not reported', () => {
    const p = plans([[r1, samplePlan()]]);
    const pins = (pinnedPcpus: number[], vmName = 'RT_VM0') => [
      { vmName, loadOrder: 'PRE_LAUNCHED_VM', pinnedPcpus },
    ];
    const status = (pinsOf: ReturnType<typeof pins>) =>
      deriveScheduling({ board: sampleBoard(), assigned: r1, reported: r1, pins: pinsOf }, p).rtPinning.map(
        (x) => [x.vmName, x.status],
      );
    expect(status(pins([3, 7]))).toEqual([['RT_VM0', 'match']]);
    expect(status(pins([7, 3]))).toEqual([['RT_VM0', 'mismatch']]);
    expect(status([])).toEqual([['RT_VM0', 'not-reported']]);
    expect(status([...pins([3, 7]), ...pins([2], 'RT_EXTRA')])).toEqual([
      ['RT_EXTRA', 'not-in-plan'],
      ['RT_VM0', 'match'],
    ]);
    const none = deriveScheduling(
      { board: sampleBoard(), assigned: null, reported: null, pins: pins([3, 7]) },
      p,
    );
    expect(none.rtPinning.map((x) => x.status)).toEqual(['no-plan']);
    expect(none.pinningMismatch).toBe(false);
  });

  it('memoises allocation and validation per plan revision and board', () => {
    const cache = new DerivationCache();
    const p = plans([[r1, samplePlan()]]);
    const a = deriveScheduling({ board: sampleBoard(), assigned: r1, reported: r1, pins: [] }, p, cache);
    const b = deriveScheduling({ board: sampleBoard(), assigned: r1, reported: r1, pins: [] }, p, cache);
    expect(b.assigned).toBe(a.assigned);
    expect(b.violations).toBe(a.violations);
    expect(a.reported).toBe(a.assigned);
  });
});

describe('allocationOf', () => {
  it('with CDP a vCPU gets the CLOS of its Data/Code pair, and the Data masks', () => {
    const plan = modifyPlan(samplePlan(), (p) => {
      p.hv.rdt.cdpEnabled = true;
      p.hv.cacheAllocations = [
        {
          cacheId: 0,
          cacheLevel: 3,
          policies: [
            { vm: 'RT_VM0', vcpu: 0, type: 'Data', closMask: '0x700' },
            { vm: 'RT_VM0', vcpu: 0, type: 'Code', closMask: '0x0c0' },
            { vm: 'HMI_VM', vcpu: 0, type: 'Data', closMask: '0x00f' },
            { vm: 'HMI_VM', vcpu: 0, type: 'Code', closMask: '0x030' },
          ],
        },
      ];
    });
    const a = allocationOf(plan, sampleBoard());
    const vcpu0 = (vm: string) => a.vms.find((v) => v.vm === vm)!.vcpus[0];
    expect(vcpu0('RT_VM0')).toMatchObject({ clos: 0, closMasks: { 'L3:0': '0x700' } });
    expect(vcpu0('HMI_VM')).toMatchObject({ clos: 1, closMasks: { 'L3:0': '0xf' } });
    expect(a.vms.find((v) => v.vm === 'HMI_VM')!.vcpus[1].clos).toBeNull();
    expect(a.closNeeded).toBe(4);
  });

  it('an explicit Service VM affinity is used as it is', () => {
    const plan = modifyPlan(samplePlan(), (p) => {
      vmNamed(p, 'ACRN_Service_VM').cpuAffinity = [
        { pcpuId: 0, realTimeVcpu: false },
        { pcpuId: 4, realTimeVcpu: false },
      ];
    });
    const a = allocationOf(plan, sampleBoard());
    expect(a.vms.find((v) => v.vm === 'ACRN_Service_VM')).toMatchObject({
      implicitAffinity: false,
      pcpus: [0, 4],
    });
    expect(a.pcpus.find((p) => p.pcpuId === 5)!.owners).toEqual([]);
  });
});
