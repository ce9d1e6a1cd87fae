import { explicitPcpus, serviceVmPcpus } from '../../scenario/static-allocation';
import { list, type Check } from '../context';

/**
 * misc/hv_prebuild/vm_cfg_checks.c (sanitize_vm_config, run at hypervisor build time) and the older
 * runtime sanitize_vm_config, plus the Service VM's implicit pCPUs from static_allocators/cpu_affinity.py.
 */
export const buildChecks: Check = (ctx) => {
  const { plan, board } = ctx;
  // MAX_PCPU_NUM is the board's pCPU count; the build rejects affinity bits at or above it.
  const maxPcpuNum = board.pcpus.length;
  for (const vm of plan.vms) {
    const outside = [...new Set(explicitPcpus(vm).filter((p) => p >= maxPcpuNum))];
    if (outside.length > 0) {
      ctx.report('PCPU_OUTSIDE_PLATFORM', {
        vms: [vm.name],
        pcpus: outside,
        message:
          `VM "${vm.name}" names pCPU ${list(outside)}, but board "${board.name}" has ${maxPcpuNum} pCPUs ` +
          `(0 to ${maxPcpuNum - 1}); the hypervisor build rejects this affinity.`,
      });
    }
  }

  const service = ctx.serviceVm;
  if (service && serviceVmPcpus(plan, board).length === 0) {
    ctx.report('SERVICE_VM_WITHOUT_PCPU', {
      vms: [service.name],
      message: `Pre-launched VMs take every pCPU of board "${board.name}", leaving none for Service VM "${service.name}".`,
    });
  }

  for (const vm of plan.vms.filter((v) => v.loadOrder === 'PRE_LAUNCHED_VM')) {
    if (vm.vmType === 'RTVM' && !vm.lapicPassthrough) {
      ctx.report('PRE_LAUNCHED_RTVM_WITHOUT_LAPIC_PASSTHROUGH', {
        vms: [vm.name],
        message: `Pre-launched RTVM "${vm.name}" must use LAPIC passthrough (lapic_passthrough=y).`,
      });
    }
    if (vm.lapicPassthrough && vm.vmType !== 'RTVM') {
      ctx.report('PRE_LAUNCHED_LAPIC_PASSTHROUGH_NOT_RTVM', {
        vms: [vm.name],
        message:
          `Pre-launched VM "${vm.name}" uses LAPIC passthrough but is a ${vm.vmType}; ` +
          'ACRN 2.x refused to build this, make it an RTVM.',
      });
    }
  }

  const preLaunchedPcpus = new Map<number, string>();
  for (const vm of plan.vms.filter((v) => v.loadOrder === 'PRE_LAUNCHED_VM')) {
    for (const pcpu of explicitPcpus(vm)) preLaunchedPcpus.set(pcpu, vm.name);
  }
  for (const vm of plan.vms.filter((v) => v.loadOrder === 'POST_LAUNCHED_VM')) {
    const taken = [...new Set(explicitPcpus(vm).filter((p) => preLaunchedPcpus.has(p)))];
    if (taken.length > 0) {
      ctx.report('POST_LAUNCHED_ON_PRE_LAUNCHED_PCPU', {
        vms: [vm.name, ...taken.map((p) => preLaunchedPcpus.get(p)!)],
        pcpus: taken,
        message:
          `Post-launched VM "${vm.name}" names pCPU ${list(taken)} of a pre-launched VM; the Service VM never ` +
          'owns those pCPUs, so its Device Model cannot hand them over.',
      });
    }
  }
};
