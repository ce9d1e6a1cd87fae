import type { Board } from '../src/board/board';
import {
  CONSOLE_VUARTS,
  PRIORITIES,
  partitionPlan,
  type PartitionPlan,
  type ScenarioKind,
  type VmConfigInput,
} from '../src/scenario/plan';
import { validatePartitionPlan } from '../src/validation/validate';

/** mulberry32: a small seeded PRNG, so a failing plan can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random plan for the board: any scenario kind, pre-launched VMs (one maybe an RTVM) on their own pCPUs, a
 * Service VM, post-launched VMs sharing or owning pCPUs, with random flags, virtio devices, vUARTs and
 * hypervisor settings. Not every plan is valid; randomValidPlans keeps those validatePartitionPlan accepts.
 */
export function randomPlan(rand: () => number, board: Board): PartitionPlan {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const chance = (p: number) => rand() < p;
  const kind: ScenarioKind = pick(['shared', 'partitioned', 'hybrid'] as const);
  const pool = board.pcpus.map((p) => p.id).sort(() => rand() - 0.5);
  const take = (n: number, avoidZero: boolean) => {
    const got: number[] = [];
    for (const p of [...pool]) {
      if (got.length === n) break;
      if (avoidZero && p === 0) continue;
      got.push(p);
      pool.splice(pool.indexOf(p), 1);
    }
    return got;
  };
  const vms: VmConfigInput[] = [];
  let id = 0;
  const nPre = kind === 'shared' ? 0 : 1 + Math.floor(rand() * 2);
  let preRt = false;
  for (let i = 0; i < nPre; i++) {
    const rt: boolean = !preRt && chance(0.5);
    preRt ||= rt;
    vms.push({
      id: id++,
      name: `PRE_VM${i}`,
      loadOrder: 'PRE_LAUNCHED_VM',
      vmType: rt ? 'RTVM' : 'STANDARD_VM',
      cpuAffinity: take(1 + Math.floor(rand() * 2), rt).map((pcpuId) => ({ pcpuId, realTimeVcpu: rt })),
      lapicPassthrough: rt,
      ioCompletionPolling: rt && chance(0.5),
      ownPcpu: chance(0.3),
      priority: pick(PRIORITIES),
      consoleVuart: pick(['None', 'COM Port 1'] as const),
      memory: chance(0.5)
        ? { sizeMb: 256 * (1 + Math.floor(rand() * 4)) }
        : { hpaRegions: [{ startHpa: '0x100000000', sizeHpaMb: 512 }] },
      osConfig: {
        kernType: rt ? 'KERNEL_ELF' : 'KERNEL_BZIMAGE',
        kernMod: rt ? 'Zephyr_ElfImage' : 'Linux_bzImage',
        ...(chance(0.5) ? { bootargs: 'rw rootwait root=/dev/sda3 console=ttyS0' } : {}),
      },
      mmioResources: { tpm2: chance(0.2), p2sb: false },
    });
  }
  if (kind !== 'partitioned') {
    vms.push({
      id: id++,
      name: 'ACRN_Service_VM',
      loadOrder: 'SERVICE_VM',
      vmType: 'STANDARD_VM',
      consoleVuart: pick(CONSOLE_VUARTS.filter((c) => c !== 'PCI')),
      osConfig: {
        kernType: 'KERNEL_BZIMAGE',
        kernMod: 'Linux_bzImage',
        bootargs: 'rw rootwait console=ttyS0',
      },
      priority: pick(PRIORITIES),
    });
    const shared = board.pcpus
      .map((p) => p.id)
      .filter((p) => !vms.some((v) => v.cpuAffinity?.some((a) => a.pcpuId === p)));
    const nPost = shared.length === 0 ? 0 : Math.floor(rand() * 4);
    for (let i = 0; i < nPost; i++) {
      const rt = !preRt && chance(0.3);
      const count = 1 + Math.floor(rand() * 2);
      const pcpus = rt ? take(count, true) : Array.from({ length: count }, () => pick(shared));
      vms.push({
        id: id++,
        name: `POST_VM${i}`,
        loadOrder: 'POST_LAUNCHED_VM',
        vmType: rt ? 'RTVM' : 'STANDARD_VM',
        cpuAffinity: [...new Set(pcpus)].map((pcpuId) => ({ pcpuId, realTimeVcpu: rt })),
        lapicPassthrough: rt && chance(0.5),
        ioCompletionPolling: chance(0.2),
        priority: pick(PRIORITIES),
        consoleVuart: pick(['None', 'COM Port 1'] as const),
        memory: { sizeMb: 256 * (1 + Math.floor(rand() * 8)) },
        virtioDevices: {
          console: chance(0.5) ? [{ useType: 'Virtio console', backendType: 'stdio' }] : [],
          network: chance(0.5) ? [{ interfaceName: `tap${i}` }] : [],
          block: chance(0.7) ? [`/home/acrn/post${i}.img`] : [],
          vsock: chance(0.3) ? [3 + i] : [],
        },
      });
    }
  }
  const service = vms.find((vm) => vm.loadOrder === 'SERVICE_VM');
  const firstPost = vms.find((vm) => vm.loadOrder === 'POST_LAUNCHED_VM');
  const buildType = pick(['debug', 'release'] as const);
  return partitionPlan({
    board: board.name,
    scenario: `random-${kind}`,
    kind,
    hv: {
      buildType,
      serialConsole: buildType === 'debug' ? '/dev/ttyS0' : pick(['None', '/dev/ttyS0']),
      scheduler: pick(['SCHED_BVT', 'SCHED_IORR', 'SCHED_PRIO'] as const),
      vuartTimerPcpu: pick(board.pcpus).id,
      maxVmNum: 16,
      vuartConnections:
        service && firstPost && chance(0.5)
          ? [
              {
                name: 'vUART connection 1',
                type: 'legacy',
                endpoints: [
                  { vmName: service.name, ioPort: '0x2F8' },
                  { vmName: firstPost.name, ioPort: '0x2F8' },
                ],
              },
            ]
          : [],
    },
    vms,
  });
}

/** `n` random plans that validatePartitionPlan finds no error in (warnings allowed), with their seeds. */
export function randomValidPlans(
  board: Board,
  n: number,
  seed = 1,
): Array<{ seed: number; plan: PartitionPlan }> {
  const out: Array<{ seed: number; plan: PartitionPlan }> = [];
  for (let s = seed; out.length < n && s < seed + n * 200; s++) {
    const plan = randomPlan(prng(s), board);
    if (!validatePartitionPlan(plan, board).some((v) => v.severity === 'error')) out.push({ seed: s, plan });
  }
  return out;
}
