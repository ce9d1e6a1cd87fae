import {
  buildPlan,
  postLaunchedVm,
  preLaunchedRtvm,
  sampleBoard,
  serviceVm,
  type Board,
  type Cache,
  type Device,
  type PartitionPlan,
  type Pcpu,
  type VmConfigInput,
} from '@hyperfleet/acrn';
import { isValidDeviceId } from '@hyperfleet/contracts';
import { mixSeed, Rng } from './prng';

/**
 * What one simulated device is: its board (4–16 pCPUs, caches with CAT), its scenario (a Service VM plus
 * 1–3 RT VMs, pinned to pCPUs other than 0), versions, class, site and tags. Pure and deterministic:
 * `generateDeviceSpec(seed, index, id)` always gives the same device.
 */

export const DEVICE_CLASSES = ['vehicle', 'industrial-pc'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

/** A VM other than the Service VM, as the simulator runs it. */
export interface SimVmSpec {
  name: string;
  vmType: 'RTVM' | 'STANDARD_VM';
  loadOrder: 'PRE_LAUNCHED_VM' | 'POST_LAUNCHED_VM';
  /** cpu_affinity, in vCPU order. */
  pcpus: number[];
  imageVersion: string | null;
  memoryMb: number;
  /** RT VMs: the worst-case latency (µs) the workload tolerates. */
  latencyBudgetUs?: number;
  /** RT VMs: the cyclictest shape of a healthy VM (µs). */
  baseLatency?: { minUs: number; avgUs: number; worstUs: number };
}

export interface DeviceSpec {
  deviceId: string;
  /** Position in the fleet; with the seed, it decides everything below. */
  index: number;
  deviceClass: DeviceClass;
  site: string;
  tags: string[];
  agentVersion: string;
  board: Board;
  /** ACRN scenario kind: `shared` (post-launched RT VMs) or `hybrid` (one pre-launched RTVM). */
  scenarioKind: 'shared' | 'hybrid';
  hypervisor: {
    version: string;
    scenario: string;
    binary: string;
    plan: { planId: string; revision: number } | null;
  };
  serviceVm: { name: string; osImageVersion: string; kernelVersion: string };
  /** Every VM but the Service VM: 1–3 RT VMs, sometimes a post-launched HMI VM. */
  vms: SimVmSpec[];
  /** The partition plan the hypervisor binary was built from (built with @hyperfleet/acrn's builders). */
  plan: PartitionPlan;
}

export const SERVICE_VM_NAME = 'Service_VM';
export const AGENT_VERSION = '1.4.0-sim';
export const RT_IMAGE_VERSIONS = ['rt-linux-6.6.21-rt26', 'rt-linux-6.1.83-rt28', 'rt-linux-6.6.30-rt30'];
export const HMI_IMAGE_VERSIONS = ['hmi-ubuntu-22.04.4', 'hmi-ubuntu-24.04.1'];
export const SERVICE_VM_IMAGE_VERSIONS = ['2025.01.2', '2024.12.1'];
export const HYPERVISOR_VERSIONS = ['3.3', '3.2'];

const SITES: Record<DeviceClass, string[]> = {
  vehicle: ['depot-hamburg', 'depot-lyon', 'depot-milan', 'depot-austin', 'depot-osaka'],
  'industrial-pc': ['plant-stuttgart', 'plant-wroclaw', 'plant-monterrey', 'plant-penang', 'plant-ohio'],
};

// ------------------------------------------------------------------------------------------- boards

interface BoardFamily {
  name: string;
  cpuModel: string;
  /** Performance (or only) cores, and whether they have two threads. */
  cores: number;
  smt: boolean;
  /** Efficiency cores (hybrid parts), in modules of four sharing an L2. */
  eCores: number;
  l2: { bytes: number; ways: number; cat?: { closNumber: number; cdp: boolean } };
  l3: { bytes: number; ways: number; closNumber: number; cdp: boolean; ssram: boolean };
  memoryGb: number[];
  weight: number;
}

const MiB = 1024 * 1024;

const FAMILIES: BoardFamily[] = [
  // 4 pCPUs: 2 cores × 2 threads.
  {
    name: 'tgl-i3-1115g4e',
    cpuModel: '11th Gen Intel(R) Core(TM) i3-1115G4E @ 3.00GHz',
    cores: 2,
    smt: true,
    eCores: 0,
    l2: { bytes: 1310720, ways: 20, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 6 * MiB, ways: 12, closNumber: 4, cdp: true, ssram: false },
    memoryGb: [8, 16],
    weight: 1,
  },
  // 4 pCPUs: 4 Atom cores, no SMT.
  {
    name: 'ehl-x6425e',
    cpuModel: 'Intel Atom(R) x6425E Processor @ 2.00GHz',
    cores: 4,
    smt: false,
    eCores: 0,
    l2: { bytes: 1572864, ways: 12 },
    l3: { bytes: 4 * MiB, ways: 16, closNumber: 4, cdp: false, ssram: false },
    memoryGb: [8, 16],
    weight: 1,
  },
  // 6 pCPUs: 6 cores, no SMT.
  {
    name: 'cfl-i5-9500te',
    cpuModel: 'Intel(R) Core(TM) i5-9500TE CPU @ 2.20GHz',
    cores: 6,
    smt: false,
    eCores: 0,
    l2: { bytes: 256 * 1024, ways: 4 },
    l3: { bytes: 9 * MiB, ways: 12, closNumber: 4, cdp: true, ssram: false },
    memoryGb: [16, 32],
    weight: 1,
  },
  // 8 pCPUs: the i7-1185GRE of sampleBoard().
  {
    name: 'tgl-i7-1185gre',
    cpuModel: '11th Gen Intel(R) Core(TM) i7-1185GRE @ 2.80GHz',
    cores: 4,
    smt: true,
    eCores: 0,
    l2: { bytes: 1310720, ways: 20, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 12582912, ways: 12, closNumber: 4, cdp: true, ssram: true },
    memoryGb: [16],
    weight: 3,
  },
  // 8 pCPUs: 4 cores × 2 threads.
  {
    name: 'tgl-i5-1145gre',
    cpuModel: '11th Gen Intel(R) Core(TM) i5-1145GRE @ 2.60GHz',
    cores: 4,
    smt: true,
    eCores: 0,
    l2: { bytes: 1310720, ways: 20, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 8 * MiB, ways: 8, closNumber: 8, cdp: true, ssram: true },
    memoryGb: [8, 16, 32],
    weight: 2,
  },
  // 12 pCPUs: 2 P-cores × 2 threads + 8 E-cores.
  {
    name: 'adl-i5-1245ue',
    cpuModel: '12th Gen Intel(R) Core(TM) i5-1245UE',
    cores: 2,
    smt: true,
    eCores: 8,
    l2: { bytes: 1310720, ways: 10, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 12 * MiB, ways: 12, closNumber: 8, cdp: true, ssram: true },
    memoryGb: [16, 32],
    weight: 1,
  },
  // 16 pCPUs: 4 P-cores × 2 threads + 8 E-cores.
  {
    name: 'adl-i7-1270pe',
    cpuModel: '12th Gen Intel(R) Core(TM) i7-1270PE',
    cores: 4,
    smt: true,
    eCores: 8,
    l2: { bytes: 1310720, ways: 10, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 18 * MiB, ways: 12, closNumber: 8, cdp: true, ssram: true },
    memoryGb: [16, 32, 64],
    weight: 1,
  },
  // 16 pCPUs: 8 cores × 2 threads.
  {
    name: 'tgl-h-i7-11850he',
    cpuModel: '11th Gen Intel(R) Core(TM) i7-11850HE @ 2.60GHz',
    cores: 8,
    smt: true,
    eCores: 0,
    l2: { bytes: 1310720, ways: 20, cat: { closNumber: 8, cdp: true } },
    l3: { bytes: 24 * MiB, ways: 12, closNumber: 16, cdp: true, ssram: false },
    memoryGb: [32, 64],
    weight: 1,
  },
];

/** Board families the generator picks from (name, pCPU count). */
export const BOARD_FAMILIES: ReadonlyArray<{ name: string; pcpus: number }> = FAMILIES.map((f) => ({
  name: f.name,
  pcpus: f.cores * (f.smt ? 2 : 1) + f.eCores,
}));

function memoryOf(totalGb: number): Board['memory'] {
  const low = { start: 0x0, end: 0x9efff, sizeBytes: 0x9f000 };
  const below4g = { start: 0x100000, end: 0x7fffffff, sizeBytes: 0x7ff00000 };
  const high = totalGb * 1024 * MiB - low.sizeBytes - below4g.sizeBytes;
  const ranges = [low, below4g, { start: 0x100000000, end: 0x100000000 + high - 1, sizeBytes: high }];
  return { totalBytes: ranges.reduce((sum, r) => sum + r.sizeBytes, 0), ranges };
}

const PCI_DEVICES: Record<string, Device> = {
  host: {
    kind: 'other',
    name: 'Host bridge: Intel Corporation Host Bridge/DRAM Registers',
    bdf: '00:00.0',
    classCode: '0x060000',
  },
  vga: {
    kind: 'other',
    name: 'VGA compatible controller: Intel Corporation UHD Graphics',
    bdf: '00:02.0',
    classCode: '0x030000',
  },
  usb: {
    kind: 'other',
    name: 'USB controller: Intel Corporation USB 3.2 Gen 2x1 xHCI Host Controller',
    bdf: '00:14.0',
    classCode: '0x0c0330',
  },
  sata: {
    kind: 'storage',
    name: 'SATA controller: Intel Corporation SATA Controller [AHCI mode]',
    bdf: '00:17.0',
    classCode: '0x010601',
  },
  nvme: {
    kind: 'storage',
    name: 'Non-Volatile memory controller: Intel Corporation SSD 670p Series',
    bdf: '02:00.0',
    classCode: '0x010802',
  },
  i225: {
    kind: 'nic',
    name: 'Ethernet controller: Intel Corporation Ethernet Controller I225-LM',
    bdf: '01:00.0',
    classCode: '0x020000',
  },
  i210: {
    kind: 'nic',
    name: 'Ethernet controller: Intel Corporation I210 Gigabit Network Connection',
    bdf: '04:00.0',
    classCode: '0x020000',
  },
  can: {
    kind: 'can',
    name: 'CANbus: PEAK-System Technik GmbH PCAN-PCI Express FD',
    bdf: '03:00.0',
    classCode: '0x0c0900',
  },
};

function devicesFor(rng: Rng, deviceClass: DeviceClass): Device[] {
  const devices = [PCI_DEVICES.host, PCI_DEVICES.vga, PCI_DEVICES.usb, PCI_DEVICES.i225];
  devices.push(rng.chance(0.7) ? PCI_DEVICES.nvme : PCI_DEVICES.sata);
  if (deviceClass === 'vehicle' || rng.chance(0.3)) devices.push(PCI_DEVICES.can);
  if (deviceClass === 'industrial-pc' || rng.chance(0.3)) devices.push(PCI_DEVICES.i210);
  return devices.map((d) => ({ ...d }));
}

/** A board of the family; the i7-1185GRE is sampleBoard() itself (its memory size may vary). */
export function generateBoard(rng: Rng, family: BoardFamily, deviceClass: DeviceClass): Board {
  const memoryGb = rng.pick(family.memoryGb);
  if (family.name === 'tgl-i7-1185gre') {
    const board = sampleBoard();
    if (memoryGb !== 16) board.memory = memoryOf(memoryGb);
    return board;
  }
  const threads = family.smt ? 2 : 1;
  const pcpus: Pcpu[] = [];
  const caches: Cache[] = [];
  const hybrid = family.eCores > 0;
  const pType = hybrid ? 'performance' : 'unknown';
  const l2Cat = family.l2.cat
    ? { closNumber: family.l2.cat.closNumber, capacityMaskLength: family.l2.ways, cdp: family.l2.cat.cdp }
    : undefined;
  if (hybrid) {
    // Linux numbers the two threads of a P-core next to each other, then the E-cores.
    for (let core = 0; core < family.cores; core++) {
      for (let t = 0; t < threads; t++) {
        const id = core * threads + t;
        const siblings = threads === 2 ? [core * threads + (1 - t)] : [];
        pcpus.push({ id, apicId: core * 8 + t, coreId: core, threadSiblings: siblings, coreType: pType });
      }
    }
  } else {
    // Linux numbers the first thread of each core before the SMT siblings.
    for (let t = 0; t < threads; t++) {
      for (let core = 0; core < family.cores; core++) {
        const id = t * family.cores + core;
        const siblings = threads === 2 ? [(1 - t) * family.cores + core] : [];
        pcpus.push({ id, apicId: core * 2 + t, coreId: core, threadSiblings: siblings, coreType: pType });
      }
    }
    pcpus.sort((a, b) => a.id - b.id);
  }
  for (let core = 0; core < family.cores; core++) {
    caches.push({
      level: 2,
      id: hybrid ? core * 4 : core,
      type: 'unified',
      ways: family.l2.ways,
      sizeBytes: family.l2.bytes,
      pcpus: pcpus.filter((p) => p.coreId === core).map((p) => p.id),
      ...(l2Cat ? { cat: { ...l2Cat } } : {}),
    });
  }
  const firstE = pcpus.length;
  for (let e = 0; e < family.eCores; e++) {
    const id = firstE + e;
    const coreId = family.cores + e;
    pcpus.push({ id, apicId: 64 + e * 2, coreId, threadSiblings: [], coreType: 'efficiency' });
  }
  for (let module = 0; module < family.eCores / 4; module++) {
    caches.push({
      level: 2,
      id: 32 + module * 4,
      type: 'unified',
      ways: 16,
      sizeBytes: 2 * MiB,
      pcpus: [0, 1, 2, 3].map((i) => firstE + module * 4 + i),
      ...(l2Cat ? { cat: { closNumber: l2Cat.closNumber, capacityMaskLength: 16, cdp: l2Cat.cdp } } : {}),
    });
  }
  caches.push({
    level: 3,
    id: 0,
    type: 'unified',
    ways: family.l3.ways,
    sizeBytes: family.l3.bytes,
    pcpus: pcpus.map((p) => p.id),
    cat: { closNumber: family.l3.closNumber, capacityMaskLength: family.l3.ways, cdp: family.l3.cdp },
    // Software SRAM locks the top way (RTCT v2), above 4 GB so no guest PCI hole can overlap it.
    ...(family.l3.ssram
      ? { softwareSram: { start: 0x40080000, end: 0x4017ffff, waymask: 1 << (family.l3.ways - 1) } }
      : {}),
  });
  return {
    name: family.name,
    cpuModel: family.cpuModel,
    pcpus,
    caches,
    memory: memoryOf(memoryGb),
    devices: devicesFor(rng, deviceClass),
  };
}

// ---------------------------------------------------------------------------------------------- VMs

/** The pCPUs of each core an RT VM may take: never core 0 (it holds pCPU 0), P-cores on hybrid parts. */
function rtCandidateCores(board: Board): number[][] {
  const byCore = new Map<number, number[]>();
  for (const p of board.pcpus) {
    if (p.coreType === 'efficiency') continue;
    byCore.set(p.coreId, [...(byCore.get(p.coreId) ?? []), p.id]);
  }
  return [...byCore.entries()]
    .filter(([, ids]) => !ids.includes(0))
    .sort(([a], [b]) => a - b)
    .map(([, ids]) => ids.sort((x, y) => x - y));
}

function toHex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** L3 CAT: each RT VM gets its own contiguous ways; everyone else shares the rest (below Software SRAM). */
function cacheAllocations(board: Board, plan: { rt: SimVmSpec[]; others: string[]; serviceVcpus: number }) {
  const l3 = board.caches.find((c) => c.level === 3 && c.cat);
  if (!l3?.cat) return [];
  const usable = l3.softwareSram?.waymask !== undefined ? l3.ways - 1 : l3.ways;
  const perRt = Math.max(1, Math.min(2, Math.floor(usable / (plan.rt.length + 2))));
  const sharedWays = usable - perRt * plan.rt.length;
  const sharedMask = (1 << sharedWays) - 1;
  const policies: { vm: string; vcpu: number; type: 'Unified'; closMask: string }[] = [];
  plan.rt.forEach((vm, i) => {
    const mask = ((1 << perRt) - 1) << (sharedWays + i * perRt);
    vm.pcpus.forEach((_, vcpu) =>
      policies.push({ vm: vm.name, vcpu, type: 'Unified', closMask: toHex(mask) }),
    );
  });
  for (let vcpu = 0; vcpu < plan.serviceVcpus; vcpu++) {
    policies.push({ vm: SERVICE_VM_NAME, vcpu, type: 'Unified', closMask: toHex(sharedMask) });
  }
  return [{ cacheId: l3.id, cacheLevel: 3 as const, policies }];
}

function latencyShape(rng: Rng, budgetUs: number): SimVmSpec['baseLatency'] {
  const minUs = rng.int(1, 3);
  const avgUs = Math.round((minUs + rng.range(1, 3)) * 10) / 10;
  const worstUs = Math.max(avgUs + 2, Math.round(budgetUs * rng.range(0.35, 0.65)));
  return { minUs, avgUs, worstUs };
}

function familyWeightFor(family: BoardFamily, deviceClass: DeviceClass): number {
  // Vehicles carry the smaller, fanless parts; industrial PCs lean to the bigger ones.
  const pcpus = family.cores * (family.smt ? 2 : 1) + family.eCores;
  const lean = deviceClass === 'vehicle' ? (pcpus <= 8 ? 1.5 : 0.6) : pcpus >= 8 ? 1.5 : 0.7;
  return family.weight * lean;
}

/** The device at `index` of a fleet seeded with `seed`. */
export function generateDeviceSpec(seed: number, index: number, deviceId: string): DeviceSpec {
  if (!isValidDeviceId(deviceId)) throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
  const rng = new Rng(mixSeed(seed, index, 0x5eed));
  const deviceClass = rng.weighted<DeviceClass>([
    ['vehicle', 0.55],
    ['industrial-pc', 0.45],
  ]);
  const family = rng.weighted(FAMILIES.map((f) => [f, familyWeightFor(f, deviceClass)] as const));
  const board = generateBoard(rng, family, deviceClass);

  const cores = rtCandidateCores(board);
  const l3 = board.caches.find((c) => c.level === 3 && c.cat);
  const closCapacity = Math.min(...board.caches.flatMap((c) => (c.cat ? [c.cat.closNumber] : [99])));
  // Room for the Service VM: one candidate core stays with it on parts with few cores.
  const maxRt = Math.max(1, Math.min(3, cores.length - (cores.length >= 3 ? 1 : 0), closCapacity - 2));
  const hybrid = rng.chance(deviceClass === 'vehicle' ? 0.45 : 0.3);
  const rtCount = hybrid ? 1 : rng.int(1, maxRt);
  const picked = rng.sample(cores, rtCount).sort((a, b) => a[0] - b[0]);
  const budgets = deviceClass === 'vehicle' ? [15, 20, 30, 50] : [10, 15, 20, 30];

  const rtVms: SimVmSpec[] = picked.map((pcpus, i) => {
    const latencyBudgetUs = rng.pick(budgets);
    return {
      name: `RT_VM${i}`,
      vmType: 'RTVM',
      loadOrder: hybrid ? 'PRE_LAUNCHED_VM' : 'POST_LAUNCHED_VM',
      pcpus,
      imageVersion: rng.pick(RT_IMAGE_VERSIONS),
      memoryMb: rng.pick(board.memory.totalBytes > 8 * 2 ** 30 ? [512, 1024, 2048] : [512, 1024]),
      latencyBudgetUs,
      baseLatency: latencyShape(rng, latencyBudgetUs),
    };
  });
  const others: SimVmSpec[] = [];
  const rtPcpus = new Set(rtVms.flatMap((vm) => vm.pcpus));
  const free = board.pcpus.map((p) => p.id).filter((id) => id !== 0 && !rtPcpus.has(id));
  const freeSameType = free.filter(
    (id) => board.pcpus.find((p) => p.id === id)?.coreType === board.pcpus[free[0]]?.coreType,
  );
  if (deviceClass === 'vehicle' && freeSameType.length > 0 && rng.chance(0.6)) {
    others.push({
      name: 'HMI_VM',
      vmType: 'STANDARD_VM',
      loadOrder: 'POST_LAUNCHED_VM',
      pcpus: freeSameType.slice(0, Math.min(2, freeSameType.length)),
      imageVersion: rng.pick(HMI_IMAGE_VERSIONS),
      memoryMb: board.memory.totalBytes > 8 * 2 ** 30 ? 4096 : 2048,
    });
  }
  const vms = [...rtVms, ...others];

  const scenario = hybrid ? 'hybrid_rt' : 'shared';
  const planRevision = rng.int(1, 6);
  const planId = `${deviceClass === 'vehicle' ? 'veh' : 'ipc'}-${scenario.replace('_', '-')}-${rtCount}rt`;
  const hvVersion = rng.weighted([
    [HYPERVISOR_VERSIONS[0], 0.8],
    [HYPERVISOR_VERSIONS[1], 0.2],
  ]);

  // The plan the running binary was built from, with ACRN's ids: pre-launched < Service VM < post-launched.
  const vmInputs: VmConfigInput[] = [];
  let id = 0;
  for (const vm of rtVms.filter((v) => v.loadOrder === 'PRE_LAUNCHED_VM')) {
    vmInputs.push(
      preLaunchedRtvm(id++, vm.name, vm.pcpus, {
        memory: { sizeMb: vm.memoryMb },
        osConfig: { kernMod: `${vm.name}_bzImage` },
      }),
    );
  }
  vmInputs.push(serviceVm(id++, SERVICE_VM_NAME, { osConfig: { kernMod: 'Linux_bzImage' } }));
  for (const vm of vms.filter((v) => v.loadOrder === 'POST_LAUNCHED_VM')) {
    vmInputs.push(
      postLaunchedVm(id++, vm.name, vm.pcpus, {
        vmType: vm.vmType,
        memory: { sizeMb: vm.memoryMb },
        ...(vm.vmType === 'RTVM'
          ? {
              cpuAffinity: vm.pcpus.map((pcpuId) => ({ pcpuId, realTimeVcpu: true })),
              lapicPassthrough: true,
              ioCompletionPolling: true,
              priority: 'PRIO_HIGH' as const,
            }
          : {}),
      }),
    );
  }
  const preLaunchedPcpus = new Set(
    rtVms.filter((v) => v.loadOrder === 'PRE_LAUNCHED_VM').flatMap((v) => v.pcpus),
  );
  const serviceVcpus = board.pcpus.filter((p) => !preLaunchedPcpus.has(p.id)).length;
  const allocations = cacheAllocations(board, { rt: rtVms, others: others.map((o) => o.name), serviceVcpus });
  const plan = buildPlan(vmInputs, {
    board: board.name,
    scenario,
    kind: hybrid ? 'hybrid' : 'shared',
    hv: {
      scheduler: 'SCHED_BVT',
      rdt: { rdtEnabled: l3 !== undefined, cdpEnabled: false, vcatEnabled: false },
      ssramEnabled: board.caches.some((c) => c.softwareSram !== undefined),
      cacheAllocations: allocations,
    },
  });

  const ring = rng.weighted([
    ['canary', 0.05],
    ['early', 0.25],
    ['broad', 0.7],
  ]);
  const site = rng.pick(SITES[deviceClass]);
  const tags = [`ring:${ring}`, `board:${board.name}`, `scenario:${scenario}`];
  if (deviceClass === 'vehicle') tags.push(`route:${rng.pick(['urban', 'regional', 'long-haul'])}`);
  else tags.push(`line:${rng.int(1, 8)}`);

  return {
    deviceId,
    index,
    deviceClass,
    site,
    tags,
    agentVersion: AGENT_VERSION,
    board,
    scenarioKind: hybrid ? 'hybrid' : 'shared',
    hypervisor: {
      version: hvVersion,
      scenario,
      binary: `acrn.${scenario}.${board.name}.bin`,
      plan: rng.chance(0.9) ? { planId, revision: planRevision } : null,
    },
    serviceVm: {
      name: SERVICE_VM_NAME,
      osImageVersion: rng.pick(SERVICE_VM_IMAGE_VERSIONS),
      kernelVersion: '6.1.80-acrn-service-vm',
    },
    vms,
    plan,
  };
}

/** `<prefix>-00042`: zero-padded so ids sort like indexes. */
export function deviceIdFor(prefix: string, index: number, width = 5): string {
  return `${prefix}-${String(index).padStart(width, '0')}`;
}
