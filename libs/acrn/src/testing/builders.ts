import type { Board } from '../board/board';
import {
  deriveScenarioKind,
  partitionPlan,
  vmConfigSchema,
  type PartitionPlan,
  type PartitionPlanInput,
  type VmConfig,
  type VmConfigInput,
} from '../scenario/plan';

/**
 * Small builders for plans in tests and in other libraries' tests (domain aggregates, read models).
 * Each returns plain data with ACRN's defaults filled in.
 */

type Extra = Partial<VmConfigInput>;

/** A pre-launched RTVM as ACRN wants it: LAPIC passthrough, polling I/O, real-time vCPUs. */
export function preLaunchedRtvm(id: number, name: string, pcpus: number[], extra: Extra = {}): VmConfigInput {
  return {
    id,
    name,
    loadOrder: 'PRE_LAUNCHED_VM',
    vmType: 'RTVM',
    cpuAffinity: pcpus.map((pcpuId) => ({ pcpuId, realTimeVcpu: true })),
    lapicPassthrough: true,
    ioCompletionPolling: true,
    memory: { sizeMb: 1024 },
    ...extra,
  };
}

/** A Service VM with the implicit affinity (every pCPU no pre-launched VM uses). */
export function serviceVm(id: number, name = 'Service_VM', extra: Extra = {}): VmConfigInput {
  return { id, name, loadOrder: 'SERVICE_VM', vmType: 'STANDARD_VM', ...extra };
}

export function postLaunchedVm(id: number, name: string, pcpus: number[], extra: Extra = {}): VmConfigInput {
  return {
    id,
    name,
    loadOrder: 'POST_LAUNCHED_VM',
    vmType: 'STANDARD_VM',
    cpuAffinity: pcpus.map((pcpuId) => ({ pcpuId })),
    memory: { sizeMb: 1024 },
    ...extra,
  };
}

export function buildVm(input: VmConfigInput): VmConfig {
  return vmConfigSchema.parse(input);
}

/** A plan from VMs; the kind follows from their load orders unless given. */
export function buildPlan(
  vms: VmConfigInput[],
  options: Partial<Omit<PartitionPlanInput, 'vms'>> = {},
): PartitionPlan {
  return partitionPlan({
    board: options.board ?? 'tgl-i7-1185gre',
    scenario: options.scenario ?? 'custom',
    kind: options.kind ?? deriveScenarioKind({ vms: vms.map((vm) => ({ loadOrder: vm.loadOrder })) }),
    hv: options.hv ?? {},
    vms,
  });
}

/** A deep copy of the plan with `change` applied: handy for "same plan, one thing different". */
export function modifyPlan(plan: PartitionPlan, change: (draft: PartitionPlan) => void): PartitionPlan {
  const draft = structuredClone(plan);
  change(draft);
  return draft;
}

export function modifyBoard(board: Board, change: (draft: Board) => void): Board {
  const draft = structuredClone(board);
  change(draft);
  return draft;
}

/** The VM with this name; throws so a typo in a test fails loudly. */
export function vmNamed(plan: PartitionPlan, name: string): VmConfig {
  const vm = plan.vms.find((v) => v.name === name);
  if (!vm) throw new Error(`no VM named ${name}`);
  return vm;
}
