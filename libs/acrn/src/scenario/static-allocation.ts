import { pcpuIds, type Board } from '../board/board';
import { parseHex, type CachePolicyType, type PartitionPlan, type VmConfig } from './plan';

/**
 * What ACRN's static allocators (misc/config_tools/static_allocators/) derive from a scenario:
 * the Service VM's pCPUs and the CLOS ids the cache policies need.
 */

export function explicitPcpus(vm: VmConfig): number[] {
  return vm.cpuAffinity.map((entry) => entry.pcpuId);
}

/**
 * cpu_affinity.py: the Service VM gets every board pCPU that no pre-launched VM names. ACRN 3.x's config.xsd
 * rejects a Service VM cpu_affinity (VM_ELEMENT_NOT_APPLICABLE); if a plan has one anyway it is used, as
 * ACRN 2.x did, so the other rules still judge something sensible.
 */
export function serviceVmPcpus(plan: PartitionPlan, board: Board): number[] {
  const service = plan.vms.find((vm) => vm.loadOrder === 'SERVICE_VM');
  if (!service) return [];
  if (service.cpuAffinity.length > 0) return [...new Set(explicitPcpus(service))].sort((a, b) => a - b);
  const preLaunched = new Set(
    plan.vms.filter((vm) => vm.loadOrder === 'PRE_LAUNCHED_VM').flatMap((vm) => explicitPcpus(vm)),
  );
  return pcpuIds(board).filter((id) => !preLaunched.has(id));
}

/** pCPUs each VM runs on, keyed by VM id, with the Service VM's implicit set filled in. */
export function effectiveCpuAffinity(plan: PartitionPlan, board: Board): Record<number, number[]> {
  const result: Record<number, number[]> = {};
  for (const vm of plan.vms) {
    result[vm.id] = vm.loadOrder === 'SERVICE_VM' ? serviceVmPcpus(plan, board) : explicitPcpus(vm);
  }
  return result;
}

/** Number of vCPUs: one per affinity entry, and for an implicit Service VM one per pCPU it gets. */
export function vcpuCount(plan: PartitionPlan, board: Board, vm: VmConfig): number {
  return vm.loadOrder === 'SERVICE_VM' ? serviceVmPcpus(plan, board).length : vm.cpuAffinity.length;
}

export interface ClosOwner {
  vm: string;
  vcpu: number;
  type: CachePolicyType;
}

export interface ClosEntry {
  /** The CLOS id (index into the hypervisor's mask tables). */
  clos: number;
  /** Capacity mask per cache, keyed `L<level>:<cache id>`; a cache without an entry gets the full mask. */
  masks: Record<string, number>;
  owners: ClosOwner[];
}

export interface ClosAllocation {
  /** CLOS ids the policies need; rdt_support.xsd requires this to be below the board's clos_number. */
  closNeeded: number;
  entries: ClosEntry[];
  /** Per VM name, the CLOS of each vCPU that has a policy (alloc_clos_index in clos.py). */
  vcpuClos: Record<string, number[]>;
}

interface Candidate {
  masks: Map<string, number>;
  owners: ClosOwner[];
  /** vCAT VMs manage their own CLOS range, so clos.py never merges them with anyone. */
  vcat: boolean;
}

export function cacheKey(level: number, id: number): string {
  return `L${level}:${id}`;
}

function candidateFor(
  plan: PartitionPlan,
  vm: string,
  vcpu: number,
  type: CachePolicyType | null,
): Candidate {
  const masks = new Map<string, number>();
  for (const allocation of plan.hv.cacheAllocations) {
    for (const policy of allocation.policies) {
      if (policy.vm !== vm || policy.vcpu !== vcpu || (type !== null && policy.type !== type)) continue;
      masks.set(cacheKey(allocation.cacheLevel, allocation.cacheId), parseHex(policy.closMask));
    }
  }
  const vmConfig = plan.vms.find((v) => v.name === vm);
  const vcat = plan.hv.rdt.vcatEnabled && vmConfig?.virtualCatSupport === true;
  return { masks, owners: [{ vm, vcpu, type: type ?? 'Unified' }], vcat };
}

function matches(a: Candidate, b: Candidate): boolean {
  for (const [key, mask] of a.masks) {
    const other = b.masks.get(key);
    if (other !== undefined && other !== mask) return false;
  }
  return true;
}

/**
 * Follows clos.py / library/rdt.py: one candidate per (VM, vCPU) policy owner, merged first-fit with any
 * earlier candidate whose masks agree on every cache both name; distinct masks → distinct CLOS. With CDP a
 * (VM, vCPU) needs a Data and a Code CLOS. Two deliberate departures from rdt.py: a merge adopts the L3
 * mask too (rdt.py keeps only L2 masks, so owners with different L3 masks can end up sharing a CLOS), and
 * a vCAT owner is never merged into an earlier candidate (rdt.py only stops merges into a vCAT one).
 */
export function allocateClos(plan: PartitionPlan): ClosAllocation {
  const cdp = plan.hv.rdt.cdpEnabled;
  const seen = new Set<string>();
  const owners: Array<{ vm: string; vcpu: number }> = [];
  for (const allocation of plan.hv.cacheAllocations) {
    for (const policy of allocation.policies) {
      // With CDP, only Data policies start an owner (rdt.py skips Code and ignores Unified).
      if (cdp && policy.type !== 'Data') continue;
      const key = `${policy.vm}\u0000${policy.vcpu}`;
      if (seen.has(key)) continue;
      seen.add(key);
      owners.push({ vm: policy.vm, vcpu: policy.vcpu });
    }
  }

  type Group = Candidate[]; // one candidate, or [data, code] with CDP
  const groups: Group[] = [];
  for (const owner of owners) {
    const group: Group = cdp
      ? [candidateFor(plan, owner.vm, owner.vcpu, 'Data'), candidateFor(plan, owner.vm, owner.vcpu, 'Code')]
      : [candidateFor(plan, owner.vm, owner.vcpu, null)];
    const target = group[0].vcat
      ? undefined
      : groups.find((g) => !g[0].vcat && g.every((candidate, i) => matches(candidate, group[i])));
    if (!target) {
      groups.push(group);
      continue;
    }
    target.forEach((candidate, i) => {
      for (const [key, mask] of group[i].masks) if (!candidate.masks.has(key)) candidate.masks.set(key, mask);
      candidate.owners.push(...group[i].owners);
    });
  }

  const entries: ClosEntry[] = groups.flat().map((candidate, clos) => ({
    clos,
    masks: Object.fromEntries(candidate.masks),
    owners: candidate.owners,
  }));

  const vcpuClos: Record<string, number[]> = {};
  for (const vm of plan.vms) {
    const vcpus = [...new Set(owners.filter((o) => o.vm === vm.name).map((o) => o.vcpu))].sort(
      (a, b) => a - b,
    );
    if (vcpus.length === 0) continue;
    vcpuClos[vm.name] = vcpus.map((vcpu) => {
      const type: CachePolicyType = cdp ? 'Data' : 'Unified';
      const entry = entries.find((e) =>
        e.owners.some((o) => o.vm === vm.name && o.vcpu === vcpu && o.type === type),
      );
      // clos.py: with CDP the Data/Code pair n is addressed as CLOS n.
      const index = entry?.clos ?? 0;
      return cdp ? Math.floor(index / 2) : index;
    });
  }

  return { closNeeded: entries.length, entries, vcpuClos };
}
