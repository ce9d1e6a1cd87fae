import type { VmConfig } from '../../scenario/plan';
import { explicitPcpus } from '../../scenario/static-allocation';
import { list, type Check, type CheckContext } from '../context';
import { groupBy } from './schema';

/**
 * checks/cpu_assignment.xsd plus the CPU-sharing limits of doc/tutorials/cpu_sharing.rst. Like ACRN,
 * sharing is judged on explicit cpu_affinity lists: the Service VM's implicit pCPUs are the pool the
 * Device Model offlines for post-launched VMs, not sharing.
 */
export const cpuAssignmentChecks: Check = (ctx) => {
  const { plan } = ctx;

  for (const vm of plan.vms) {
    const pcpus = explicitPcpus(vm);
    const missing = pcpus.filter((p) => !ctx.pcpuById.has(p));
    for (const pcpu of new Set(missing)) {
      ctx.report('PCPU_NOT_ON_BOARD', {
        vms: [vm.name],
        pcpus: [pcpu],
        message: `pCPU ${pcpu} given to VM "${vm.name}" does not exist on board "${ctx.board.name}".`,
      });
    }
    const repeated = [...groupBy(pcpus, (p) => p)].filter(([, all]) => all.length > 1).map(([p]) => p);
    if (repeated.length > 0) {
      ctx.report('PCPU_DUPLICATE_IN_VM', {
        vms: [vm.name],
        pcpus: repeated,
        message: `VM "${vm.name}" lists pCPU ${list(repeated)} more than once in its cpu_affinity.`,
      });
    }
    if (vm.loadOrder !== 'SERVICE_VM' && pcpus.length === 0) {
      ctx.report('VM_WITHOUT_PCPU', {
        vms: [vm.name],
        message: `VM "${vm.name}" has no pCPU; assign at least one in its cpu_affinity.`,
      });
    }
    if (vm.loadOrder !== 'SERVICE_VM') {
      const performance = pcpus.filter((p) => ctx.pcpuById.get(p)?.coreType === 'performance');
      const efficiency = pcpus.filter((p) => ctx.pcpuById.get(p)?.coreType === 'efficiency');
      const types = new Set(pcpus.flatMap((p) => ctx.pcpuById.get(p)?.coreType ?? []));
      if (types.size > 1) {
        ctx.report('MIXED_CORE_TYPES', {
          vms: [vm.name],
          pcpus: [...performance, ...efficiency],
          message:
            `VM "${vm.name}" mixes performance cores (${list(performance) || 'none'}) and efficiency cores ` +
            `(${list(efficiency) || 'none'}); choose one core type.`,
        });
      }
    }
    if (vm.vmType === 'RTVM' && pcpus.includes(0)) {
      ctx.report('RTVM_ON_PCPU0', {
        vms: [vm.name],
        pcpus: [0],
        message: `pCPU 0 may not be given to RTVM "${vm.name}".`,
      });
    }
  }

  for (const vm of plan.vms) {
    if (vm.vmType === 'RTVM') exclusive(ctx, vm, 'RTVM_PCPU_SHARED', 'RTVM');
    if (vm.ownPcpu) exclusive(ctx, vm, 'OWN_PCPU_SHARED', 'own_pcpu VM');
    // An RTVM's sharing is already RTVM_PCPU_SHARED; say it once.
    if (vm.lapicPassthrough && vm.vmType !== 'RTVM') {
      exclusive(ctx, vm, 'LAPIC_PASSTHROUGH_PCPU_SHARED', 'LAPIC-passthrough VM');
    }
  }

  // v3.3: the vUART timer runs on VUART_TIMER_PCPU; a LAPIC-passthrough VM there starves it.
  const timer = plan.hv.vuartTimerPcpu;
  const passthrough = plan.vms.filter((vm) => vm.lapicPassthrough && explicitPcpus(vm).includes(timer));
  if (passthrough.length > 0) {
    ctx.report('VUART_TIMER_PCPU_ON_LAPIC_PASSTHROUGH_VM', {
      vms: passthrough.map((vm) => vm.name),
      pcpus: [timer],
      message:
        `pCPU ${timer} hosts the vUART timer (VUART_TIMER_PCPU) but is assigned to LAPIC-passthrough VM ` +
        `${list(passthrough.map((v) => `"${v.name}"`))}; the console may be laggy. Choose another VUART_TIMER_PCPU.`,
    });
  }

  if (plan.hv.scheduler === 'SCHED_NOOP') {
    const allPcpus = new Set(plan.vms.flatMap((vm) => explicitPcpus(vm)));
    for (const pcpu of allPcpus) {
      const sharers = ctx.vmsNamingPcpu(pcpu);
      if (sharers.length > 1) {
        ctx.report('SCHED_NOOP_PCPU_SHARED', {
          vms: sharers.map((v) => v.name),
          pcpus: [pcpu],
          message:
            `pCPU ${pcpu} is shared by VMs ${list(sharers.map((v) => `"${v.name}"`))}, but SCHED_NOOP runs ` +
            'one vCPU per pCPU; use SCHED_BVT or SCHED_PRIO, or give each VM its own pCPUs.',
        });
      }
    }
  }
};

/** A pCPU of `owner` may be named by no VM other than the owner and its companion. */
function exclusive(
  ctx: CheckContext,
  owner: VmConfig,
  code: 'RTVM_PCPU_SHARED' | 'OWN_PCPU_SHARED' | 'LAPIC_PASSTHROUGH_PCPU_SHARED',
  what: string,
): void {
  for (const pcpu of new Set(explicitPcpus(owner))) {
    const others = ctx
      .vmsNamingPcpu(pcpu)
      .filter(
        (vm) => vm.id !== owner.id && (owner.companionVmid === undefined || vm.id !== owner.companionVmid),
      );
    if (others.length === 0) continue;
    ctx.report(code, {
      vms: [owner.name, ...others.map((v) => v.name)],
      pcpus: [pcpu],
      message:
        `pCPU ${pcpu} belongs to ${what} "${owner.name}" and may not be shared, ` +
        `but VM ${list(others.map((v) => `"${v.name}"`))} also uses it.`,
    });
  }
}
