import type { Board, Pcpu } from '../board/board';
import type { PartitionPlan, VmConfig } from '../scenario/plan';
import { effectiveCpuAffinity, explicitPcpus } from '../scenario/static-allocation';
import { RULES, type RuleCode } from './rules';
import type { Violation } from './violation';

export interface Finding {
  vms?: string[];
  pcpus?: number[];
  message: string;
}

export class CheckContext {
  readonly violations: Violation[] = [];
  readonly pcpuById: Map<number, Pcpu>;
  readonly vmByName: Map<string, VmConfig>;
  readonly vmById: Map<number, VmConfig>;
  /** pCPUs per VM id with the Service VM's implicit set filled in. */
  readonly effective: Record<number, number[]>;
  private readonly seen = new Set<string>();

  constructor(
    readonly plan: PartitionPlan,
    readonly board: Board,
  ) {
    this.pcpuById = new Map(board.pcpus.map((p) => [p.id, p]));
    this.vmByName = new Map(plan.vms.map((vm) => [vm.name, vm]));
    this.vmById = new Map(plan.vms.map((vm) => [vm.id, vm]));
    this.effective = effectiveCpuAffinity(plan, board);
  }

  get serviceVm(): VmConfig | undefined {
    return this.plan.vms.find((vm) => vm.loadOrder === 'SERVICE_VM');
  }

  vmsWith(predicate: (vm: VmConfig) => boolean): VmConfig[] {
    return this.plan.vms.filter(predicate);
  }

  /** VMs whose explicit cpu_affinity names the pCPU: what ACRN's sharing asserts count. */
  vmsNamingPcpu(pcpu: number): VmConfig[] {
    return this.plan.vms.filter((vm) => explicitPcpus(vm).includes(pcpu));
  }

  report(code: RuleCode, finding: Finding): void {
    const vms = [...new Set(finding.vms ?? [])].sort();
    const pcpus = [...new Set(finding.pcpus ?? [])].sort((a, b) => a - b);
    // The same fact reached from two VMs is one violation.
    const key = `${code}|${vms.join(',')}|${pcpus.join(',')}|${finding.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const rule = RULES[code];
    this.violations.push({
      code,
      severity: rule.severity,
      group: rule.group,
      vms,
      pcpus,
      message: finding.message,
    });
  }
}

export type Check = (ctx: CheckContext) => void;

export function list(items: Array<string | number>): string {
  return items.join(', ');
}
