import {
  allocateClos,
  explicitPcpus,
  serviceVmPcpus,
  validatePartitionPlan,
  type Board,
  type LoadOrder,
  type PartitionPlan,
  type Violation,
  type VmType,
} from '@hyperfleet/acrn';

/**
 * What the scheduling-policy read model derives for one device, from plain facts: the board, the
 * assigned and the reported plan revision (with their content when known), and the RTVMs' reported
 * pinning. Pure; the projection calls it once per changed device and batch, not per event.
 */

export interface PlanRef {
  readonly planId: string;
  readonly revision: number;
}

export const sameRef = (a: PlanRef | null, b: PlanRef | null): boolean =>
  a !== null && b !== null && a.planId === b.planId && a.revision === b.revision;

export const refKey = (r: PlanRef): string => `${r.planId}@${r.revision}`;

/** A VM running on a pCPU: vCPU `vcpu` of `vm`. `implicit`: the Service VM's share by ACRN's allocator. */
export interface PcpuOwner {
  readonly vm: string;
  readonly vmId: number;
  readonly loadOrder: LoadOrder;
  readonly vmType: VmType;
  readonly vcpu: number;
  readonly realTime: boolean;
  readonly implicit: boolean;
}

export interface PcpuAllocation {
  readonly pcpuId: number;
  /** False when the plan names a pCPU the device's board does not have. */
  readonly onBoard: boolean;
  readonly coreId: number | null;
  readonly owners: PcpuOwner[];
  /** More than one VM runs on it. */
  readonly shared: boolean;
}

export interface VcpuAllocation {
  readonly vcpu: number;
  readonly pcpuId: number;
  readonly realTime: boolean;
  /** The CLOS id of the vCPU (allocateClos), null when no cache policy names it. */
  readonly clos: number | null;
  /** Capacity masks of that CLOS per cache (`L<level>:<id>` → hex); caches not listed get the full mask. */
  readonly closMasks: Record<string, string> | null;
}

export interface VmAllocation {
  readonly vm: string;
  readonly vmId: number;
  readonly loadOrder: LoadOrder;
  readonly vmType: VmType;
  readonly lapicPassthrough: boolean;
  /** The Service VM without an explicit cpu_affinity: every pCPU no pre-launched VM names. */
  readonly implicitAffinity: boolean;
  readonly pcpus: number[];
  readonly vcpus: VcpuAllocation[];
}

export interface Allocation {
  readonly pcpus: PcpuAllocation[];
  readonly vms: VmAllocation[];
  /** CLOS ids the cache policies need. */
  readonly closNeeded: number;
  /** The smallest clos_number of the board's CAT caches; null without CAT. */
  readonly closAvailable: number | null;
}

export type PlanStatus = 'unassigned' | 'not-reported' | 'mismatch' | 'in-sync';

export const DRIFT_REASONS = ['PLAN_NOT_REPORTED', 'PLAN_MISMATCH', 'PLAN_VIOLATIONS'] as const;
export type DriftReason = (typeof DRIFT_REASONS)[number];

export interface RtVmPin {
  readonly vmName: string;
  readonly loadOrder: string;
  readonly pinnedPcpus: number[];
}

/**
 * `no-plan`: nothing to compare with (no plan assigned, or its revision not known yet);
 * `not-in-plan`: the device runs an RTVM the assigned plan does not have.
 */
export type PinningStatus = 'match' | 'mismatch' | 'not-in-plan' | 'not-reported' | 'no-plan';

export interface PinningCheck {
  readonly vmName: string;
  /** RtVmRegistered.pinnedPcpus (vCPU order); null when the plan has the RTVM but the device never registered it. */
  readonly reportedPcpus: number[] | null;
  /** cpu_affinity of the VM of that name in the assigned plan; null when absent or unknown. */
  readonly assignedPcpus: number[] | null;
  /** The same in the plan the device reports running. */
  readonly reportedPlanPcpus: number[] | null;
  /** Against the assigned plan; the order counts (vCPU n runs on the n-th pCPU). */
  readonly status: PinningStatus;
}

export interface DeviceFacts {
  readonly board: Board | null;
  readonly assigned: PlanRef | null;
  readonly reported: PlanRef | null;
  readonly pins: readonly RtVmPin[];
}

export interface DerivedScheduling {
  readonly planStatus: PlanStatus;
  readonly assignedPlanKnown: boolean;
  readonly reportedPlanKnown: boolean;
  readonly assigned: Allocation | null;
  readonly reported: Allocation | null;
  /** Every violation of the assigned plan on the current board, errors first. */
  readonly violations: Violation[];
  readonly errorCount: number;
  readonly warningCount: number;
  readonly drift: boolean;
  readonly driftReasons: DriftReason[];
  readonly rtPinning: PinningCheck[];
  readonly pinningMismatch: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function allocationOf(plan: PartitionPlan, board: Board): Allocation {
  const clos = allocateClos(plan);
  const cdp = plan.hv.rdt.cdpEnabled;
  const closOf = (vm: string, vcpu: number): { clos: number; masks: Record<string, string> } | null => {
    const type = cdp ? 'Data' : 'Unified';
    const entry = clos.entries.find((e) =>
      e.owners.some((o) => o.vm === vm && o.vcpu === vcpu && o.type === type),
    );
    if (!entry) return null;
    // As allocateClos's vcpuClos: with CDP the Data/Code pair n is CLOS n.
    const id = cdp ? Math.floor(entry.clos / 2) : entry.clos;
    return { clos: id, masks: Object.fromEntries(Object.entries(entry.masks).map(([k, m]) => [k, hex(m)])) };
  };

  const boardPcpus = new Map(board.pcpus.map((p) => [p.id, p]));
  const owners = new Map<number, PcpuOwner[]>();
  const vms: VmAllocation[] = plan.vms.map((vm) => {
    const implicit = vm.loadOrder === 'SERVICE_VM' && vm.cpuAffinity.length === 0;
    const pcpus = vm.loadOrder === 'SERVICE_VM' ? serviceVmPcpus(plan, board) : explicitPcpus(vm);
    const vcpus = pcpus.map((pcpuId, vcpu) => {
      const realTime = vm.cpuAffinity[vcpu]?.realTimeVcpu ?? false;
      const c = closOf(vm.name, vcpu);
      const list = owners.get(pcpuId) ?? [];
      list.push({
        vm: vm.name,
        vmId: vm.id,
        loadOrder: vm.loadOrder,
        vmType: vm.vmType,
        vcpu,
        realTime,
        implicit,
      });
      owners.set(pcpuId, list);
      return { vcpu, pcpuId, realTime, clos: c?.clos ?? null, closMasks: c?.masks ?? null };
    });
    return {
      vm: vm.name,
      vmId: vm.id,
      loadOrder: vm.loadOrder,
      vmType: vm.vmType,
      lapicPassthrough: vm.lapicPassthrough,
      implicitAffinity: implicit,
      pcpus,
      vcpus,
    };
  });

  const ids = [...new Set([...boardPcpus.keys(), ...owners.keys()])].sort((a, b) => a - b);
  const pcpus: PcpuAllocation[] = ids.map((pcpuId) => {
    const list = owners.get(pcpuId) ?? [];
    return {
      pcpuId,
      onBoard: boardPcpus.has(pcpuId),
      coreId: boardPcpus.get(pcpuId)?.coreId ?? null,
      owners: list,
      shared: new Set(list.map((o) => o.vm)).size > 1,
    };
  });
  const closNumbers = board.caches.flatMap((c) => (c.cat ? [c.cat.closNumber] : []));
  return {
    pcpus,
    vms,
    closNeeded: clos.closNeeded,
    closAvailable: closNumbers.length ? Math.min(...closNumbers) : null,
  };
}

const equalSeq = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function pinningChecks(
  pins: readonly RtVmPin[],
  assigned: PartitionPlan | null,
  reported: PartitionPlan | null,
): PinningCheck[] {
  const affinity = (plan: PartitionPlan | null, name: string) => {
    const vm = plan?.vms.find((v) => v.name === name);
    return vm ? explicitPcpus(vm) : null;
  };
  const names = new Set(pins.map((p) => p.vmName));
  for (const vm of assigned?.vms ?? []) if (vm.vmType === 'RTVM') names.add(vm.name);
  return [...names].sort().map((vmName) => {
    const pin = pins.find((p) => p.vmName === vmName) ?? null;
    const assignedPcpus = affinity(assigned, vmName);
    const reportedPlanPcpus = affinity(reported, vmName);
    let status: PinningStatus;
    if (!pin) status = 'not-reported';
    else if (!assigned) status = 'no-plan';
    else if (!assignedPcpus) status = 'not-in-plan';
    else status = equalSeq(pin.pinnedPcpus, assignedPcpus) ? 'match' : 'mismatch';
    return {
      vmName,
      reportedPcpus: pin ? [...pin.pinnedPcpus] : null,
      assignedPcpus,
      reportedPlanPcpus,
      status,
    };
  });
}

/** Memoises the heavy parts (allocation, validation) per plan revision and board within one batch. */
export class DerivationCache {
  private readonly allocations = new Map<string, Allocation>();
  private readonly violations = new Map<string, Violation[]>();

  allocation(ref: PlanRef, plan: PartitionPlan, board: Board, boardKey: string): Allocation {
    const key = `${refKey(ref)}\u0000${boardKey}`;
    let a = this.allocations.get(key);
    if (!a) this.allocations.set(key, (a = allocationOf(plan, board)));
    return a;
  }

  validate(ref: PlanRef, plan: PartitionPlan, board: Board, boardKey: string): Violation[] {
    const key = `${refKey(ref)}\u0000${boardKey}`;
    let v = this.violations.get(key);
    if (!v) this.violations.set(key, (v = validatePartitionPlan(plan, board)));
    return v;
  }
}

/**
 * Drift, exactly: a plan is assigned, and either the device does not report running that revision
 * (none reported, or another plan id or revision), or the assigned revision breaks an error-severity
 * ACRN rule on the board the device reports now (a changed board can make a fitting plan stop fitting).
 * A device without an assigned plan is never in drift. RTVM pinning is checked and reported beside it
 * (`pinningMismatch`) but is not part of drift.
 */
export function deriveScheduling(
  facts: DeviceFacts,
  plans: (ref: PlanRef) => PartitionPlan | null,
  cache: DerivationCache = new DerivationCache(),
): DerivedScheduling {
  const { board, assigned, reported } = facts;
  const boardKey = board ? JSON.stringify(board) : '';
  const assignedPlan = assigned ? plans(assigned) : null;
  const reportedPlan = reported ? plans(reported) : null;

  const planStatus: PlanStatus = !assigned
    ? 'unassigned'
    : !reported
      ? 'not-reported'
      : sameRef(assigned, reported)
        ? 'in-sync'
        : 'mismatch';

  const violations =
    assigned && assignedPlan && board ? cache.validate(assigned, assignedPlan, board, boardKey) : [];
  const errorCount = violations.filter((v) => v.severity === 'error').length;

  const driftReasons: DriftReason[] = [];
  if (planStatus === 'not-reported') driftReasons.push('PLAN_NOT_REPORTED');
  if (planStatus === 'mismatch') driftReasons.push('PLAN_MISMATCH');
  if (errorCount > 0) driftReasons.push('PLAN_VIOLATIONS');

  const rtPinning = pinningChecks(facts.pins, assignedPlan, reportedPlan);
  return {
    planStatus,
    assignedPlanKnown: assignedPlan !== null,
    reportedPlanKnown: reportedPlan !== null,
    assigned:
      assigned && assignedPlan && board ? cache.allocation(assigned, assignedPlan, board, boardKey) : null,
    reported:
      reported && reportedPlan && board ? cache.allocation(reported, reportedPlan, board, boardKey) : null,
    violations,
    errorCount,
    warningCount: violations.length - errorCount,
    drift: driftReasons.length > 0,
    driftReasons,
    rtPinning,
    pinningMismatch: rtPinning.some((p) => p.status === 'mismatch' || p.status === 'not-in-plan'),
  };
}
