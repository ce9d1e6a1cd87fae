import { samplePlan } from '../fixtures';
import { buildPlan, postLaunchedVm, serviceVm } from '../testing/builders';
import { deriveScenarioKind, parseHex, parsePartitionPlan, partitionPlan, toHex } from './plan';

describe('partition plan model', () => {
  it('is plain JSON: a JSON round trip changes nothing', () => {
    const plan = samplePlan();
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(parsePartitionPlan(JSON.parse(JSON.stringify(plan)))).toEqual({ ok: true, value: plan });
  });

  it("fills ACRN's defaults", () => {
    const plan = partitionPlan({
      board: 'b',
      scenario: 's',
      kind: 'shared',
      vms: [{ id: 0, name: 'SOS', loadOrder: 'SERVICE_VM' }],
    });
    expect(plan.hv).toEqual({
      buildType: 'release',
      serialConsole: 'None',
      scheduler: 'SCHED_BVT',
      rdt: { rdtEnabled: false, cdpEnabled: false, vcatEnabled: false },
      ssramEnabled: false,
      maxVmNum: 16,
      vuartTimerPcpu: 0,
      cacheAllocations: [],
      vuartConnections: [],
      ivshmemRegions: [],
      hiddenPdevs: [],
    });
    expect(plan.vms[0]).toMatchObject({
      vmType: 'STANDARD_VM',
      cpuAffinity: [],
      lapicPassthrough: false,
      priority: 'PRIO_LOW',
      consoleVuart: 'None',
      mmioResources: { tpm2: false, p2sb: false },
      virtioDevices: { console: [], network: [], input: [], block: [], vsock: [] },
    });
  });

  it('gives fresh default arrays to every plan', () => {
    const a = buildPlan([serviceVm(0)]);
    const b = buildPlan([serviceVm(0)]);
    a.hv.hiddenPdevs.push('00:1f.1');
    expect(b.hv.hiddenPdevs).toEqual([]);
  });

  it('says what is wrong and where', () => {
    const result = parsePartitionPlan({
      board: 'b',
      scenario: 's',
      kind: 'mixed',
      hv: {
        scheduler: 'SCHED_FIFO',
        cacheAllocations: [
          { cacheId: 0, cacheLevel: 3, policies: [{ vm: 'x', vcpu: 0, type: 'Unified', closMask: 'ff' }] },
        ],
      },
      vms: [{ id: -1, name: 'a', loadOrder: 'SERVICE_VM', colour: 'blue' }],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^kind: /),
          expect.stringMatching(/^hv\.scheduler: /),
          'hv.cacheAllocations.0.policies.0.closMask: a hexadecimal number with a leading 0x, e.g. 0xff',
          expect.stringMatching(/^vms\.0\.id: /),
          expect.stringMatching(/^vms\.0: Unrecognized key: "colour"/),
        ]),
      );
    }
  });

  it('needs at least one VM', () => {
    expect(parsePartitionPlan({ board: 'b', scenario: 's', kind: 'shared', vms: [] }).ok).toBe(false);
  });

  it('derives the scenario kind from load orders', () => {
    expect(deriveScenarioKind(buildPlan([serviceVm(0), postLaunchedVm(1, 'U', [1])]))).toBe('shared');
    expect(deriveScenarioKind(samplePlan())).toBe('hybrid');
    expect(deriveScenarioKind({ vms: [{ loadOrder: 'PRE_LAUNCHED_VM' }] })).toBe('partitioned');
  });

  it('reads and writes ACRN hex', () => {
    expect(parseHex('0x0FF')).toBe(255);
    expect(parseHex('0')).toBe(0);
    expect(toHex(255)).toBe('0xff');
  });
});
