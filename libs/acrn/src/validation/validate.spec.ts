import type { Board } from '../board/board';
import { sampleBoard, samplePlan, smallBoard } from '../fixtures';
import type { PartitionPlan } from '../scenario/plan';
import {
  buildPlan,
  modifyBoard,
  modifyPlan,
  postLaunchedVm,
  preLaunchedRtvm,
  serviceVm,
  vmNamed,
} from '../testing/builders';
import { RULE_CODES, RULES, type RuleCode } from './rules';
import { checkPartitionPlan, validatePartitionPlan } from './validate';
import { isContiguousMask } from './checks/rdt-support';
import { readRepoFile } from '../../test/read-fixture';

interface Setup {
  plan: PartitionPlan;
  board?: Board;
}

interface RuleCase {
  code: RuleCode;
  /** A near miss that must not raise the code; the clean sample plan when omitted. */
  pass?: () => Setup;
  fail: () => Setup;
}

const change = (fn: (draft: PartitionPlan) => void): Setup => ({ plan: modifyPlan(samplePlan(), fn) });
const onBoard = (fn: (draft: Board) => void, plan: PartitionPlan = samplePlan()): Setup => ({
  plan,
  board: modifyBoard(sampleBoard(), fn),
});

/** Renames a VM and every reference to it, so only the name itself can be at fault. */
function renameVm(plan: PartitionPlan, from: string, to: string): void {
  vmNamed(plan, from).name = to;
  for (const a of plan.hv.cacheAllocations) for (const p of a.policies) if (p.vm === from) p.vm = to;
  for (const c of plan.hv.vuartConnections) for (const e of c.endpoints) if (e.vmName === from) e.vmName = to;
  for (const r of plan.hv.ivshmemRegions) for (const m of r.vms) if (m.vmName === from) m.vmName = to;
}

function addVm(plan: PartitionPlan, vm: Parameters<typeof buildPlan>[0][number]): void {
  plan.vms.push(buildPlan([vm]).vms[0]);
}

const hmi = (plan: PartitionPlan) => vmNamed(plan, 'HMI_VM');
const rt = (plan: PartitionPlan) => vmNamed(plan, 'RT_VM0');
const service = (plan: PartitionPlan) => vmNamed(plan, 'ACRN_Service_VM');
const l3 = (plan: PartitionPlan) => plan.hv.cacheAllocations.find((a) => a.cacheLevel === 3)!;
const pciVuart = (plan: PartitionPlan) => plan.hv.vuartConnections.find((c) => c.type === 'pci')!;

const CASES: RuleCase[] = [
  {
    code: 'VM_NAME_INVALID',
    pass: () => change((p) => renameVm(p, 'HMI_VM', 'HMI-display_015')),
    fail: () => change((p) => renameVm(p, 'HMI_VM', 'HMI display VM 1')),
  },
  {
    code: 'VM_NAME_DUPLICATE',
    pass: () => change((p) => addVm(p, postLaunchedVm(3, 'HMI_VM2', [5]))),
    fail: () => change((p) => addVm(p, postLaunchedVm(3, 'HMI_VM', [5]))),
  },
  {
    code: 'VM_ID_DUPLICATE',
    fail: () => change((p) => addVm(p, postLaunchedVm(2, 'Logger', [5]))),
  },
  {
    code: 'VM_ID_EXCEEDS_MAX_VM_NUM',
    pass: () => change((p) => (p.hv.maxVmNum = 3)),
    fail: () => change((p) => (p.hv.maxVmNum = 2)),
  },
  {
    code: 'SERVICE_VM_TYPE_INVALID',
    fail: () => change((p) => (service(p).vmType = 'RTVM')),
  },
  {
    code: 'UNKNOWN_VM_REFERENCE',
    fail: () => change((p) => (l3(p).policies[0].vm = 'GHOST_VM')),
  },
  {
    code: 'SCENARIO_KIND_MISMATCH',
    fail: () => change((p) => (p.kind = 'shared')),
  },
  {
    code: 'POST_LAUNCHED_WITHOUT_SERVICE_VM',
    pass: () => ({
      plan: buildPlan([preLaunchedRtvm(0, 'RT', [3]), serviceVm(1), postLaunchedVm(2, 'HMI', [1])]),
    }),
    fail: () => ({ plan: buildPlan([preLaunchedRtvm(0, 'RT', [3]), postLaunchedVm(1, 'HMI', [1])]) }),
  },
  {
    code: 'PCPU_NOT_ON_BOARD',
    fail: () => change((p) => hmi(p).cpuAffinity.push({ pcpuId: 9, realTimeVcpu: false })),
  },
  {
    code: 'PCPU_DUPLICATE_IN_VM',
    fail: () => change((p) => (hmi(p).cpuAffinity[1].pcpuId = 1)),
  },
  {
    code: 'RTVM_PCPU_SHARED',
    // companion_vmid is the one VM allowed onto an RTVM's pCPUs.
    pass: () =>
      change((p) => {
        hmi(p).cpuAffinity[1].pcpuId = 3;
        rt(p).companionVmid = hmi(p).id;
      }),
    fail: () => change((p) => (hmi(p).cpuAffinity[1].pcpuId = 3)),
  },
  {
    code: 'OWN_PCPU_SHARED',
    pass: () =>
      change((p) => {
        hmi(p).ownPcpu = true;
        addVm(p, postLaunchedVm(3, 'Logger', [5]));
      }),
    fail: () =>
      change((p) => {
        hmi(p).ownPcpu = true;
        addVm(p, postLaunchedVm(3, 'Logger', [2]));
      }),
  },
  {
    code: 'VM_WITHOUT_PCPU',
    // The Service VM may leave its affinity empty; everyone else may not.
    pass: () => change((p) => (service(p).cpuAffinity = [])),
    fail: () => change((p) => (hmi(p).cpuAffinity = [])),
  },
  {
    code: 'MIXED_CORE_TYPES',
    // Only the Service VM spans both kinds here, and ACRN exempts it.
    pass: () =>
      onBoard((b) => b.pcpus.forEach((c) => (c.coreType = c.coreId === 0 ? 'efficiency' : 'performance'))),
    fail: () =>
      onBoard((b) => b.pcpus.forEach((c) => (c.coreType = c.id === 2 ? 'efficiency' : 'performance'))),
  },
  {
    code: 'RTVM_ON_PCPU0',
    fail: () => change((p) => (rt(p).cpuAffinity[0].pcpuId = 0)),
  },
  {
    code: 'LAPIC_PASSTHROUGH_PCPU_SHARED',
    pass: () =>
      change((p) => {
        hmi(p).lapicPassthrough = true;
        addVm(p, postLaunchedVm(3, 'Logger', [5]));
      }),
    fail: () =>
      change((p) => {
        hmi(p).lapicPassthrough = true;
        addVm(p, postLaunchedVm(3, 'Logger', [2]));
      }),
  },
  {
    code: 'SCHED_NOOP_PCPU_SHARED',
    pass: () => change((p) => (p.hv.scheduler = 'SCHED_NOOP')),
    fail: () =>
      change((p) => {
        p.hv.scheduler = 'SCHED_NOOP';
        addVm(p, postLaunchedVm(3, 'Logger', [2]));
      }),
  },
  {
    code: 'MULTIPLE_SERVICE_VMS',
    fail: () => change((p) => addVm(p, serviceVm(3, 'Service_VM2'))),
  },
  {
    code: 'PRE_LAUNCHED_ID_NOT_BELOW_SERVICE_VM',
    fail: () =>
      change((p) => {
        rt(p).id = 1;
        service(p).id = 0;
      }),
  },
  {
    code: 'POST_LAUNCHED_ID_NOT_ABOVE_SERVICE_VM',
    fail: () =>
      change((p) => {
        service(p).id = 2;
        hmi(p).id = 1;
      }),
  },
  {
    code: 'MULTIPLE_PRE_LAUNCHED_RTVMS',
    fail: () => ({
      plan: buildPlan([preLaunchedRtvm(0, 'RT_A', [3, 7]), preLaunchedRtvm(1, 'RT_B', [2, 6]), serviceVm(2)]),
    }),
  },
  {
    code: 'PRE_AND_POST_LAUNCHED_RTVMS',
    fail: () => change((p) => (hmi(p).vmType = 'RTVM')),
  },
  {
    code: 'VCAT_REQUIRES_RDT_WITHOUT_CDP',
    pass: () => change((p) => (p.hv.rdt.vcatEnabled = true)),
    fail: () => change((p) => (p.hv.rdt = { rdtEnabled: true, cdpEnabled: true, vcatEnabled: true })),
  },
  {
    code: 'CDP_UNSUPPORTED_BY_CACHES',
    pass: () => change((p) => (p.hv.rdt.cdpEnabled = true)),
    fail: () =>
      onBoard(
        (b) => (b.caches.find((c) => c.level === 3)!.cat!.cdp = false),
        modifyPlan(samplePlan(), (p) => (p.hv.rdt.cdpEnabled = true)),
      ),
  },
  {
    code: 'VM_VCAT_REQUIRES_HV_VCAT',
    pass: () =>
      change((p) => {
        hmi(p).virtualCatSupport = true;
        p.hv.rdt.vcatEnabled = true;
      }),
    fail: () => change((p) => (hmi(p).virtualCatSupport = true)),
  },
  {
    code: 'SERVICE_VM_LAPIC_PASSTHROUGH',
    pass: () =>
      change((p) => {
        service(p).lapicPassthrough = true;
        service(p).nestedVirtualization = true;
      }),
    fail: () => change((p) => (service(p).lapicPassthrough = true)),
  },
  {
    code: 'SSRAM_OVERLAPS_PRE_LAUNCHED_RTVM_HOLE',
    // Without a pre-launched RTVM the SSRAM placement does not matter.
    pass: () =>
      onBoard(
        (b) => (b.caches.find((c) => c.level === 3)!.softwareSram = { start: 0x80000000, end: 0x800fffff }),
        buildPlan([serviceVm(0), postLaunchedVm(1, 'HMI', [1, 2])]),
      ),
    fail: () =>
      onBoard(
        (b) => (b.caches.find((c) => c.level === 3)!.softwareSram = { start: 0x80000000, end: 0x800fffff }),
      ),
  },
  {
    code: 'CLOS_EXCEEDS_BOARD',
    pass: () => onBoard((b) => (b.caches.find((c) => c.level === 3)!.cat!.closNumber = 3)),
    fail: () => onBoard((b) => (b.caches.find((c) => c.level === 3)!.cat!.closNumber = 2)),
  },
  {
    code: 'CLOS_MASK_OVERLAPS_SSRAM',
    fail: () =>
      change((p) =>
        l3(p)
          .policies.filter((x) => x.vm === 'RT_VM0')
          .forEach((x) => (x.closMask = '0xf00')),
      ),
  },
  {
    code: 'CAT_MASK_NOT_CONTIGUOUS',
    pass: () => change((p) => (l3(p).policies[2].closMask = '0x0f0')),
    fail: () => change((p) => (l3(p).policies[2].closMask = '0x0f3')),
  },
  {
    code: 'CLOS_MASK_TOO_WIDE',
    pass: () => change((p) => (l3(p).policies[2].closMask = '0x7ff')),
    fail: () => change((p) => (l3(p).policies[2].closMask = '0x1ff0')),
  },
  {
    code: 'CACHE_NOT_ON_BOARD',
    fail: () => change((p) => (p.hv.cacheAllocations[0].cacheId = 9)),
  },
  {
    code: 'POLICY_VCPU_OUT_OF_RANGE',
    // The Service VM's six vCPUs come from its implicit pCPUs, so vCPU 5 is in range.
    fail: () =>
      change((p) => l3(p).policies.push({ vm: 'HMI_VM', vcpu: 2, type: 'Unified', closMask: '0x0ff' })),
  },
  {
    code: 'POLICY_TYPE_MISMATCH',
    pass: () =>
      change((p) => {
        p.hv.rdt.cdpEnabled = true;
        for (const a of p.hv.cacheAllocations) {
          a.policies = a.policies.flatMap((x) => [
            { ...x, type: 'Code' as const },
            { ...x, type: 'Data' as const },
          ]);
        }
      }),
    fail: () => change((p) => (p.hv.rdt.cdpEnabled = true)),
  },
  {
    code: 'RDT_WITHOUT_BOARD_CAT',
    fail: () =>
      onBoard(
        (b) => b.caches.forEach((c) => delete c.cat),
        buildPlan([serviceVm(0)], { hv: { rdt: { rdtEnabled: true } } }),
      ),
  },
  {
    code: 'CACHE_ALLOCATION_WITHOUT_RDT',
    pass: () =>
      change((p) => {
        p.hv.rdt.rdtEnabled = false;
        p.hv.cacheAllocations = [];
      }),
    fail: () => change((p) => (p.hv.rdt.rdtEnabled = false)),
  },
  {
    code: 'VM_MEMORY_EXCEEDS_HOST',
    pass: () => change((p) => (hmi(p).memory = { sizeMb: 10000, hpaRegions: [] })),
    fail: () =>
      change(
        (p) =>
          (hmi(p).memory = { sizeMb: 10000, hpaRegions: [{ startHpa: '0x200000000', sizeHpaMb: 4096 }] }),
      ),
  },
  {
    code: 'VUART_SELF_CONNECTION',
    fail: () =>
      change(
        (p) => (pciVuart(p).endpoints[1] = { vmName: 'ACRN_Service_VM', ioPort: '0x9208', vbdf: '00:11.0' }),
      ),
  },
  {
    code: 'VUART_IO_PORT_DUPLICATE',
    // Ports compare as numbers: 0x2f8 and 0x2F8 are the same port.
    fail: () => change((p) => (pciVuart(p).endpoints[0].ioPort = '0x2f8')),
  },
  {
    code: 'VUART_CONSOLE_PORT_REUSED',
    // HMI_VM has no console, so COM1's port is free for it.
    pass: () => change((p) => (pciVuart(p).endpoints[1].ioPort = '0x3F8')),
    fail: () => change((p) => (pciVuart(p).endpoints[0].ioPort = '0x3F8')),
  },
  {
    code: 'VUART_VM_NAME_MISSING',
    fail: () => change((p) => (pciVuart(p).endpoints[1].vmName = '')),
  },
  {
    code: 'DEBUG_BUILD_WITHOUT_SERIAL_CONSOLE',
    pass: () => change((p) => (p.hv.buildType = 'debug')),
    fail: () =>
      change((p) => {
        p.hv.buildType = 'debug';
        p.hv.serialConsole = 'None';
      }),
  },
  {
    code: 'IVSHMEM_VM_DUPLICATE',
    fail: () => change((p) => p.hv.ivshmemRegions[0].vms.push({ vmName: 'RT_VM0', vbdf: '00:09.0' })),
  },
  {
    code: 'IVSHMEM_REGION_NAME_MISSING',
    fail: () => change((p) => (p.hv.ivshmemRegions[0].name = '')),
  },
  {
    code: 'VBDF_DUPLICATE_IN_VM',
    fail: () => change((p) => (p.hv.ivshmemRegions[0].vms[1].vbdf = '00:10.0')),
  },
  {
    code: 'VBDF_CONFLICTS_WITH_NATIVE_DEVICE',
    fail: () => change((p) => (pciVuart(p).endpoints[0].vbdf = '00:17.0')),
  },
  {
    code: 'P2SB_HIDDEN',
    pass: () => change((p) => (rt(p).mmioResources.p2sb = true)),
    fail: () =>
      change((p) => {
        rt(p).mmioResources.p2sb = true;
        p.hv.hiddenPdevs = ['00:1f.1'];
      }),
  },
  {
    code: 'VBDF_RESERVED_FOR_POST_LAUNCHED_VM',
    pass: () => change((p) => (pciVuart(p).endpoints[1].vbdf = '00:1e.0')),
    fail: () => change((p) => (pciVuart(p).endpoints[1].vbdf = '00:1f.0')),
  },
  {
    code: 'VUART_TIMER_PCPU_ON_LAPIC_PASSTHROUGH_VM',
    pass: () => change((p) => (p.hv.vuartTimerPcpu = 1)),
    fail: () => change((p) => (p.hv.vuartTimerPcpu = rt(p).cpuAffinity[0].pcpuId)),
  },
  {
    code: 'VM_ELEMENT_NOT_APPLICABLE',
    pass: () => change((p) => (hmi(p).virtualCatSupport = true)),
    fail: () =>
      change((p) => {
        const service = p.vms.find((vm) => vm.loadOrder === 'SERVICE_VM')!;
        service.cpuAffinity = [{ pcpuId: 0, realTimeVcpu: false }];
        service.virtualCatSupport = true;
        hmi(p).nestedVirtualization = true;
        rt(p).virtioDevices.block.push('/data/rt.img');
        hmi(p).mmioResources.p2sb = true;
      }),
  },
  {
    code: 'TPM2_AND_P2SB',
    pass: () => change((p) => (rt(p).mmioResources.tpm2 = true)),
    fail: () => change((p) => (rt(p).mmioResources = { tpm2: true, p2sb: true })),
  },
  {
    code: 'PCI_DEV_DUPLICATE',
    pass: () => change((p) => hmi(p).pciDevs.push({ bdf: '04:00.0' })),
    fail: () => change((p) => hmi(p).pciDevs.push({ bdf: '01:00.0' })),
  },
  {
    code: 'PCI_DEV_NOT_ON_BOARD',
    fail: () => change((p) => hmi(p).pciDevs.push({ bdf: '05:00.0' })),
  },
  {
    code: 'VSOCK_CID_DUPLICATE',
    pass: () => change((p) => addVm(p, postLaunchedVm(3, 'Logger', [5], { virtioDevices: { vsock: [4] } }))),
    fail: () => change((p) => addVm(p, postLaunchedVm(3, 'Logger', [5], { virtioDevices: { vsock: [3] } }))),
  },
  {
    code: 'GPU_MONITOR_ID_MISSING',
    pass: () =>
      change(
        (p) => (hmi(p).virtioDevices.gpu = { displayType: 'Full screen', displays: [{ monitorId: 0 }] }),
      ),
    fail: () => change((p) => (hmi(p).virtioDevices.gpu = { displayType: 'Full screen', displays: [{}] })),
  },
  {
    code: 'GPU_WINDOW_RESOLUTION_MISSING',
    pass: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Window',
            displays: [{ windowResolution: '1920x1080', horizontalOffset: 0, verticalOffset: 0 }],
          }),
      ),
    fail: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Window',
            displays: [{ horizontalOffset: 0, verticalOffset: 0 }],
          }),
      ),
  },
  {
    code: 'GPU_WINDOW_OFFSET_MISSING',
    pass: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Window',
            displays: [{ windowResolution: '1280x720', horizontalOffset: 10, verticalOffset: 0 }],
          }),
      ),
    fail: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Window',
            displays: [{ windowResolution: '1280x720', horizontalOffset: 10 }],
          }),
      ),
  },
  {
    code: 'GPU_MONITOR_ID_DUPLICATE',
    pass: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Full screen',
            displays: [{ monitorId: 0 }, { monitorId: 1 }],
          }),
      ),
    fail: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Full screen',
            displays: [{ monitorId: 0 }, { monitorId: 0 }],
          }),
      ),
  },
  {
    code: 'GPU_TOO_MANY_DISPLAYS',
    pass: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Full screen',
            displays: [0, 1, 2, 3].map((monitorId) => ({ monitorId })),
          }),
      ),
    fail: () =>
      change(
        (p) =>
          (hmi(p).virtioDevices.gpu = {
            displayType: 'Full screen',
            displays: [0, 1, 2, 3, 4].map((monitorId) => ({ monitorId })),
          }),
      ),
  },
  {
    code: 'PCPU_OUTSIDE_PLATFORM',
    fail: () => change((p) => hmi(p).cpuAffinity.push({ pcpuId: 8, realTimeVcpu: false })),
  },
  {
    code: 'SERVICE_VM_WITHOUT_PCPU',
    pass: () => ({
      plan: buildPlan([
        { ...postLaunchedVm(0, 'PRE', [0, 1, 2, 3, 4, 5, 6]), loadOrder: 'PRE_LAUNCHED_VM' },
        serviceVm(1),
      ]),
    }),
    fail: () => ({
      plan: buildPlan([
        { ...postLaunchedVm(0, 'PRE', [0, 1, 2, 3, 4, 5, 6, 7]), loadOrder: 'PRE_LAUNCHED_VM' },
        serviceVm(1),
      ]),
    }),
  },
  {
    code: 'PRE_LAUNCHED_RTVM_WITHOUT_LAPIC_PASSTHROUGH',
    fail: () => change((p) => (rt(p).lapicPassthrough = false)),
  },
  {
    code: 'PRE_LAUNCHED_LAPIC_PASSTHROUGH_NOT_RTVM',
    fail: () => change((p) => (rt(p).vmType = 'STANDARD_VM')),
  },
  {
    code: 'POST_LAUNCHED_ON_PRE_LAUNCHED_PCPU',
    fail: () => change((p) => (hmi(p).cpuAffinity[1].pcpuId = 7)),
  },
];

function run(setup: Setup) {
  return validatePartitionPlan(setup.plan, setup.board ?? sampleBoard());
}

describe('validatePartitionPlan', () => {
  it('finds nothing wrong with the sample plan on the sample board', () => {
    expect(validatePartitionPlan(samplePlan(), sampleBoard())).toEqual([]);
    expect(checkPartitionPlan(samplePlan(), sampleBoard())).toEqual({ ok: true, errors: [], warnings: [] });
  });

  it('has a pass and a fail case for every rule it enforces', () => {
    expect(CASES.map((c) => c.code).sort()).toEqual([...RULE_CODES].sort());
  });

  describe.each(CASES)('$code', ({ code, pass, fail }) => {
    const rule = RULES[code];

    it(`raises ${code} as ${rule.severity} (${rule.group}) for a breaking plan`, () => {
      const found = run(fail()).filter((v) => v.code === code);
      expect(found.length).toBeGreaterThan(0);
      for (const violation of found) {
        expect(violation).toMatchObject({ code, severity: rule.severity, group: rule.group });
        expect(violation.message).toMatch(/\S.*[.)]$/);
      }
    });

    it(`does not raise ${code} for a plan that keeps the rule`, () => {
      expect(run(pass ? pass() : { plan: samplePlan() }).map((v) => v.code)).not.toContain(code);
    });
  });

  it('names the VMs and pCPUs involved', () => {
    const plan = modifyPlan(samplePlan(), (p) => (hmi(p).cpuAffinity[1].pcpuId = 3));
    const shared = validatePartitionPlan(plan, sampleBoard()).find((v) => v.code === 'RTVM_PCPU_SHARED');
    expect(shared).toEqual({
      code: 'RTVM_PCPU_SHARED',
      severity: 'error',
      group: 'cpu_assignment',
      vms: ['HMI_VM', 'RT_VM0'],
      pcpus: [3],
      message: 'pCPU 3 belongs to RTVM "RT_VM0" and may not be shared, but VM "HMI_VM" also uses it.',
    });
  });

  it('lists errors before warnings', () => {
    const plan = modifyPlan(samplePlan(), (p) => {
      hmi(p).cpuAffinity.push({ pcpuId: 9, realTimeVcpu: false }); // warning + error
      p.kind = 'shared'; // warning
    });
    const severities = validatePartitionPlan(plan, sampleBoard()).map((v) => v.severity);
    expect(severities).toEqual([...severities].sort((a, b) => (a === b ? 0 : a === 'error' ? -1 : 1)));
    expect(severities).toContain('warning');
    expect(severities[0]).toBe('error');
  });

  it('accepts a plan on one board and rejects it on a smaller one', () => {
    const plan = samplePlan();
    expect(checkPartitionPlan(plan, sampleBoard()).ok).toBe(true);

    const report = checkPartitionPlan(plan, smallBoard());
    expect(report.ok).toBe(false);
    const codes = report.errors.map((v) => v.code);
    expect(codes).toEqual(
      expect.arrayContaining(['PCPU_OUTSIDE_PLATFORM', 'CLOS_EXCEEDS_BOARD', 'CACHE_NOT_ON_BOARD']),
    );
    expect(report.warnings.map((v) => v.code)).toContain('PCPU_NOT_ON_BOARD');
    expect(report.errors.find((v) => v.code === 'PCPU_OUTSIDE_PLATFORM')).toMatchObject({
      vms: ['RT_VM0'],
      pcpus: [7],
    });
  });

  it('warns about a pCPU the board lacks even when it is below the pCPU count (offline CPU)', () => {
    const board = modifyBoard(sampleBoard(), (b) => {
      b.pcpus = b.pcpus
        .filter((c) => c.id !== 2)
        .map((c) => ({ ...c, threadSiblings: c.threadSiblings.filter((s) => s !== 2) }));
      b.caches.forEach((c) => (c.pcpus = c.pcpus.filter((id) => id !== 2)));
    });
    const plan = buildPlan([serviceVm(0), postLaunchedVm(1, 'HMI', [1, 2])]);
    const codes = validatePartitionPlan(plan, board).map((v) => v.code);
    expect(codes).toContain('PCPU_NOT_ON_BOARD');
    expect(codes).not.toContain('PCPU_OUTSIDE_PLATFORM');
  });

  it('treats the RTVM sharing check like ACRN: the Service VM implicit pCPUs do not count as sharing', () => {
    // RT_VM0's pCPUs are outside the Service VM set; a post-launched RTVM's pCPUs are inside it by design.
    const plan = buildPlan([
      serviceVm(0),
      postLaunchedVm(1, 'RT_POST', [2, 3], { vmType: 'RTVM', lapicPassthrough: true }),
    ]);
    expect(validatePartitionPlan(plan, sampleBoard())).toEqual([]);
  });
});

describe('isContiguousMask', () => {
  it.each([
    [0x1, true],
    [0xff0, true],
    [0xfffff, true],
    [0x80000000, true],
    [0xffffffff, true],
    [0x0, false],
    [0x505, false],
    [0xf0f, false],
  ])('mask %p is contiguous: %p', (mask, expected) => {
    expect(isContiguousMask(mask)).toBe(expected);
  });
});

describe('docs/acrn-rules.md', () => {
  it('documents every enforced rule code', () => {
    const doc = readRepoFile('docs/acrn-rules.md');
    const missing = RULE_CODES.filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
