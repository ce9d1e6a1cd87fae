import type { Board } from './board/board';
import { partitionPlan, type PartitionPlan } from './scenario/plan';

/**
 * Ready-made data for tests and for engineers building on @hyperfleet/acrn. sampleBoard() is exactly what
 * parseBoardXml gives for libs/acrn/test/fixtures/tgl-i7-1185gre.board.xml, and samplePlan() is a valid
 * hybrid plan for it (a pre-launched RTVM, the Service VM and a post-launched HMI VM).
 * Every call returns fresh objects, so callers may mutate them.
 */

/** 11th Gen Core i7-1185GRE (Tiger Lake UP3): 4 cores × 2 threads, L2 per core, one L3 with CAT. */
export function sampleBoard(): Board {
  // Linux numbers the first thread of each core before the SMT siblings.
  const pcpus = [0, 1, 2, 3, 4, 5, 6, 7].map((id) => {
    const core = id % 4;
    const sibling = id < 4 ? id + 4 : id - 4;
    return {
      id,
      apicId: core * 2 + (id < 4 ? 0 : 1),
      coreId: core,
      threadSiblings: [sibling],
      coreType: 'unknown' as const,
    };
  });
  return {
    name: 'tgl-i7-1185gre',
    cpuModel: '11th Gen Intel(R) Core(TM) i7-1185GRE @ 2.80GHz',
    pcpus,
    caches: [
      ...[0, 1, 2, 3].map((core) => ({
        level: 2 as const,
        id: core,
        type: 'unified' as const,
        ways: 20,
        sizeBytes: 1310720,
        pcpus: [core, core + 4],
        cat: { closNumber: 8, capacityMaskLength: 20, cdp: true },
      })),
      {
        level: 3,
        id: 0,
        type: 'unified',
        ways: 12,
        sizeBytes: 12582912,
        pcpus: [0, 1, 2, 3, 4, 5, 6, 7],
        cat: { closNumber: 4, capacityMaskLength: 12, cdp: true },
        softwareSram: { start: 0x40080000, end: 0x4017ffff, waymask: 0x800 },
      },
    ],
    memory: {
      totalBytes: 651264 + 939765760 + 15032385536,
      ranges: [
        { start: 0x0, end: 0x9efff, sizeBytes: 651264 },
        { start: 0x100000, end: 0x3813afff, sizeBytes: 939765760 },
        { start: 0x100000000, end: 0x47fffffff, sizeBytes: 15032385536 },
      ],
    },
    devices: [
      {
        kind: 'other',
        name: 'Host bridge: Intel Corporation 11th Gen Core Processor Host Bridge/DRAM Registers',
        bdf: '00:00.0',
        classCode: '0x060000',
      },
      {
        kind: 'other',
        name: 'VGA compatible controller: Intel Corporation TigerLake-LP GT2 [Iris Xe Graphics]',
        bdf: '00:02.0',
        classCode: '0x030000',
      },
      {
        kind: 'other',
        name: 'USB controller: Intel Corporation Tiger Lake-LP USB 3.2 Gen 2x1 xHCI Host Controller',
        bdf: '00:14.0',
        classCode: '0x0c0330',
      },
      {
        kind: 'storage',
        name: 'SATA controller: Intel Corporation Tiger Lake-LP SATA Controller',
        bdf: '00:17.0',
        classCode: '0x010601',
      },
      {
        kind: 'other',
        name: 'PCI bridge: Intel Corporation Tiger Lake-LP PCI Express Root Port #1',
        bdf: '00:1c.0',
        classCode: '0x060400',
      },
      {
        kind: 'nic',
        name: 'Ethernet controller: Intel Corporation Ethernet Controller I225-LM',
        bdf: '01:00.0',
        classCode: '0x020000',
      },
      {
        kind: 'other',
        name: 'PCI bridge: Intel Corporation Tiger Lake-LP PCI Express Root Port #5',
        bdf: '00:1c.4',
        classCode: '0x060400',
      },
      {
        kind: 'can',
        name: 'CANbus: PEAK-System Technik GmbH PCAN-PCI Express FD',
        bdf: '03:00.0',
        classCode: '0x0c0900',
      },
      {
        kind: 'other',
        name: 'PCI bridge: Intel Corporation Tiger Lake-LP PCI Express Root Port #7',
        bdf: '00:1c.6',
        classCode: '0x060400',
      },
      {
        kind: 'nic',
        name: 'Ethernet controller: Intel Corporation I210 Gigabit Network Connection',
        bdf: '04:00.0',
        classCode: '0x020000',
      },
      {
        kind: 'other',
        name: 'PCI bridge: Intel Corporation Tiger Lake-LP PCI Express Root Port #9',
        bdf: '00:1d.0',
        classCode: '0x060400',
      },
      {
        kind: 'storage',
        name: 'Non-Volatile memory controller: Intel Corporation SSD 670p Series',
        bdf: '02:00.0',
        classCode: '0x010802',
      },
      {
        kind: 'other',
        name: 'ISA bridge: Intel Corporation Tiger Lake-LP LPC Controller',
        bdf: '00:1f.0',
        classCode: '0x060100',
      },
    ],
  };
}

/** A 4-thread board (2 cores × 2 threads, 8 GB) whose L3 has only 2 CLOS: too small for samplePlan(). */
export function smallBoard(): Board {
  return {
    name: 'small-2c4t',
    cpuModel: 'Intel(R) Celeron(R) 6305E @ 1.80GHz',
    pcpus: [0, 1, 2, 3].map((id) => ({
      id,
      apicId: (id % 2) * 2 + (id < 2 ? 0 : 1),
      coreId: id % 2,
      threadSiblings: [id < 2 ? id + 2 : id - 2],
      coreType: 'unknown' as const,
    })),
    caches: [
      {
        level: 3,
        id: 0,
        type: 'unified',
        ways: 8,
        sizeBytes: 4194304,
        pcpus: [0, 1, 2, 3],
        cat: { closNumber: 2, capacityMaskLength: 12, cdp: false },
      },
    ],
    memory: {
      totalBytes: 8589934592,
      ranges: [{ start: 0x100000000, end: 0x2ffffffff, sizeBytes: 8589934592 }],
    },
    devices: [
      {
        kind: 'nic',
        name: 'Ethernet controller: Intel Corporation Ethernet Controller I225-LM',
        bdf: '01:00.0',
        classCode: '0x020000',
      },
      {
        kind: 'can',
        name: 'CANbus: PEAK-System Technik GmbH PCAN-PCI Express FD',
        bdf: '03:00.0',
        classCode: '0x0c0900',
      },
    ],
  };
}

/**
 * hybrid_rt on sampleBoard(): RTVM "RT_VM0" pre-launched on both threads of core 3 with LAPIC passthrough
 * and its own L3 ways, the Service VM on the remaining pCPUs, and post-launched "HMI_VM" on pCPUs 1-2.
 */
export function samplePlan(): PartitionPlan {
  return partitionPlan({
    board: 'tgl-i7-1185gre',
    scenario: 'hybrid_rt',
    kind: 'hybrid',
    hv: {
      buildType: 'release',
      serialConsole: '/dev/ttyS0',
      scheduler: 'SCHED_BVT',
      rdt: { rdtEnabled: true, cdpEnabled: false, vcatEnabled: false },
      ssramEnabled: true,
      maxVmNum: 16,
      cacheAllocations: [
        {
          cacheId: 3,
          cacheLevel: 2,
          policies: [
            { vm: 'RT_VM0', vcpu: 0, type: 'Unified', closMask: '0xfffff' },
            { vm: 'RT_VM0', vcpu: 1, type: 'Unified', closMask: '0xfffff' },
          ],
        },
        {
          cacheId: 0,
          cacheLevel: 3,
          policies: [
            { vm: 'RT_VM0', vcpu: 0, type: 'Unified', closMask: '0x700' },
            { vm: 'RT_VM0', vcpu: 1, type: 'Unified', closMask: '0x700' },
            ...[0, 1, 2, 3, 4, 5].map((vcpu) => ({
              vm: 'ACRN_Service_VM',
              vcpu,
              type: 'Unified' as const,
              closMask: '0x0ff',
            })),
            { vm: 'HMI_VM', vcpu: 0, type: 'Unified', closMask: '0x0ff' },
            { vm: 'HMI_VM', vcpu: 1, type: 'Unified', closMask: '0x0ff' },
          ],
        },
      ],
      vuartConnections: [
        {
          name: 'vUART_RT_Service',
          type: 'legacy',
          endpoints: [
            { vmName: 'RT_VM0', ioPort: '0x2F8' },
            { vmName: 'ACRN_Service_VM', ioPort: '0x2F8' },
          ],
        },
        {
          name: 'vUART_HMI',
          type: 'pci',
          endpoints: [
            { vmName: 'ACRN_Service_VM', ioPort: '0x9200', vbdf: '00:10.0' },
            { vmName: 'HMI_VM', ioPort: '0x9200', vbdf: '00:10.0' },
          ],
        },
      ],
      ivshmemRegions: [
        {
          name: 'hv_rt_shm',
          providedBy: 'Hypervisor',
          sizeMb: 2,
          vms: [
            { vmName: 'RT_VM0', vbdf: '00:08.0' },
            { vmName: 'ACRN_Service_VM', vbdf: '00:08.0' },
          ],
        },
      ],
      hiddenPdevs: [],
    },
    vms: [
      {
        id: 0,
        name: 'RT_VM0',
        loadOrder: 'PRE_LAUNCHED_VM',
        vmType: 'RTVM',
        cpuAffinity: [
          { pcpuId: 3, realTimeVcpu: true },
          { pcpuId: 7, realTimeVcpu: true },
        ],
        lapicPassthrough: true,
        ioCompletionPolling: true,
        memory: { sizeMb: 2048 },
        consoleVuart: 'COM Port 1',
        osConfig: {
          kernType: 'KERNEL_BZIMAGE',
          kernMod: 'RT_bzImage',
          bootargs: 'root=/dev/nvme0n1p3 rw rootwait console=ttyS0 isolcpus=nohz,domain,0-1 idle=poll',
        },
        pciDevs: [
          {
            bdf: '01:00.0',
            description: 'Ethernet controller: Intel Corporation Ethernet Controller I225-LM',
          },
          { bdf: '03:00.0', description: 'CANbus: PEAK-System Technik GmbH PCAN-PCI Express FD' },
        ],
      },
      {
        id: 1,
        name: 'ACRN_Service_VM',
        loadOrder: 'SERVICE_VM',
        vmType: 'STANDARD_VM',
        consoleVuart: 'COM Port 1',
        osConfig: {
          kernType: 'KERNEL_BZIMAGE',
          kernMod: 'Linux_bzImage',
          bootargs: 'root=/dev/nvme0n1p2 rw rootwait',
        },
      },
      {
        id: 2,
        name: 'HMI_VM',
        loadOrder: 'POST_LAUNCHED_VM',
        vmType: 'STANDARD_VM',
        cpuAffinity: [{ pcpuId: 1 }, { pcpuId: 2 }],
        memory: { sizeMb: 4096 },
        virtioDevices: {
          console: [{ useType: 'Virtio console', backendType: 'stdio' }],
          network: [{ virtioFramework: 'Kernel based (Virtual Host)', interfaceName: 'tap_hmi' }],
          block: ['/home/acrn/hmi.img'],
          vsock: [3],
        },
      },
    ],
  });
}
