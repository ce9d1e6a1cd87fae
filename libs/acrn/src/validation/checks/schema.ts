import { deriveScenarioKind, NO_COMPANION_VMID } from '../../scenario/plan';
import { vmElementAllowed, vmElementsSet } from '../../scenario/vm-elements';
import { list, type Check } from '../context';

const VM_NAME = /^[a-zA-Z0-9_-]{1,15}$/;

/** config.xsd, VMtypes.xsd and types.xsd constraints that the plan's JSON shape cannot express. */
export const schemaChecks: Check = (ctx) => {
  const { plan } = ctx;

  for (const vm of plan.vms) {
    if (!VM_NAME.test(vm.name)) {
      ctx.report('VM_NAME_INVALID', {
        vms: [vm.name],
        message: `VM name "${vm.name}" must be 1 to 15 letters, digits, "_" or "-".`,
      });
    }
    if (vm.id >= plan.hv.maxVmNum) {
      ctx.report('VM_ID_EXCEEDS_MAX_VM_NUM', {
        vms: [vm.name],
        message: `VM "${vm.name}" has id ${vm.id}, but MAX_VM_NUM is ${plan.hv.maxVmNum}; ids must be below it.`,
      });
    }
    if (vm.loadOrder === 'SERVICE_VM' && vm.vmType !== 'STANDARD_VM') {
      ctx.report('SERVICE_VM_TYPE_INVALID', {
        vms: [vm.name],
        message: `The Service VM "${vm.name}" is a ${vm.vmType}; ACRN only allows STANDARD_VM for it.`,
      });
    }
  }

  // config.xsd allows some VM elements on some load orders only; ACRN's validator reports the others.
  for (const vm of plan.vms) {
    const wrong = vmElementsSet(vm).filter((element) => !vmElementAllowed(vm.loadOrder, element));
    if (wrong.length > 0) {
      ctx.report('VM_ELEMENT_NOT_APPLICABLE', {
        vms: [vm.name],
        message:
          `VM "${vm.name}" (${vm.loadOrder}) sets ${list(wrong.map((w) => `<${w}>`))}, which config.xsd does ` +
          `not allow on a ${vm.loadOrder}${wrong.includes('cpu_affinity') && vm.loadOrder === 'SERVICE_VM' ? ' (the Service VM gets every pCPU no pre-launched VM uses)' : ''}.`,
      });
    }
  }

  const byName = groupBy(plan.vms, (vm) => vm.name);
  for (const [name, vms] of byName) {
    if (vms.length > 1) {
      ctx.report('VM_NAME_DUPLICATE', {
        vms: [name],
        message: `${vms.length} VMs are named "${name}" (ids ${list(vms.map((v) => v.id))}); names must be unique.`,
      });
    }
  }
  const byId = groupBy(plan.vms, (vm) => vm.id);
  for (const [id, vms] of byId) {
    if (vms.length > 1) {
      ctx.report('VM_ID_DUPLICATE', {
        vms: vms.map((v) => v.name),
        message: `VMs ${list(vms.map((v) => `"${v.name}"`))} share id ${id}; ids must be unique.`,
      });
    }
  }

  const unknown = (where: string, name: string, vms: string[] = []) =>
    ctx.report('UNKNOWN_VM_REFERENCE', {
      vms: [...vms],
      message: `${where} refers to VM "${name}", which the plan does not have.`,
    });
  for (const connection of plan.hv.vuartConnections) {
    for (const endpoint of connection.endpoints) {
      if (endpoint.vmName !== '' && !ctx.vmByName.has(endpoint.vmName)) {
        unknown(`vUART connection "${connection.name}"`, endpoint.vmName);
      }
    }
  }
  for (const region of plan.hv.ivshmemRegions) {
    for (const member of region.vms) {
      if (!ctx.vmByName.has(member.vmName)) unknown(`IVSHMEM region "${region.name}"`, member.vmName);
    }
  }
  for (const allocation of plan.hv.cacheAllocations) {
    for (const policy of allocation.policies) {
      if (!ctx.vmByName.has(policy.vm)) {
        unknown(`The L${allocation.cacheLevel} cache 0x${allocation.cacheId.toString(16)} policy`, policy.vm);
      }
    }
  }
  for (const vm of plan.vms) {
    if (
      vm.companionVmid !== undefined &&
      vm.companionVmid !== NO_COMPANION_VMID &&
      !ctx.vmById.has(vm.companionVmid)
    ) {
      ctx.report('UNKNOWN_VM_REFERENCE', {
        vms: [vm.name],
        message: `VM "${vm.name}" names companion_vmid ${vm.companionVmid}, but no VM has that id.`,
      });
    }
  }
};

/** The scenario kind and the load orders it allows. */
export const scenarioChecks: Check = (ctx) => {
  const { plan } = ctx;
  const derived = deriveScenarioKind(plan);
  if (derived !== plan.kind) {
    ctx.report('SCENARIO_KIND_MISMATCH', {
      message:
        `The plan says "${plan.kind}" but its VMs make a ${derived} scenario ` +
        '(shared: Service VM and post-launched VMs; partitioned: pre-launched VMs only; hybrid: both).',
    });
  }
  const post = plan.vms.filter((vm) => vm.loadOrder === 'POST_LAUNCHED_VM');
  if (post.length > 0 && !ctx.serviceVm) {
    ctx.report('POST_LAUNCHED_WITHOUT_SERVICE_VM', {
      vms: post.map((vm) => vm.name),
      message: `Post-launched VMs ${list(post.map((v) => `"${v.name}"`))} need a Service VM to launch them.`,
    });
  }
};

export function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
