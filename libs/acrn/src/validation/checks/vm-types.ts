import { list, type Check } from '../context';

/** checks/vm_types.xsd. */
export const vmTypeChecks: Check = (ctx) => {
  const { plan } = ctx;
  const services = plan.vms.filter((vm) => vm.loadOrder === 'SERVICE_VM');
  if (services.length > 1) {
    ctx.report('MULTIPLE_SERVICE_VMS', {
      vms: services.map((vm) => vm.name),
      message: `There may be at most one Service VM, but ${list(services.map((v) => `"${v.name}"`))} are.`,
    });
  }
  for (const service of services) {
    for (const vm of plan.vms) {
      if (vm.loadOrder === 'PRE_LAUNCHED_VM' && !(vm.id < service.id)) {
        ctx.report('PRE_LAUNCHED_ID_NOT_BELOW_SERVICE_VM', {
          vms: [vm.name, service.name],
          message: `Pre-launched VM "${vm.name}" (id ${vm.id}) needs an id below the Service VM's (${service.id}).`,
        });
      }
      if (vm.loadOrder === 'POST_LAUNCHED_VM' && !(vm.id > service.id)) {
        ctx.report('POST_LAUNCHED_ID_NOT_ABOVE_SERVICE_VM', {
          vms: [vm.name, service.name],
          message: `Post-launched VM "${vm.name}" (id ${vm.id}) needs an id above the Service VM's (${service.id}).`,
        });
      }
    }
  }
  const preRt = plan.vms.filter((vm) => vm.loadOrder === 'PRE_LAUNCHED_VM' && vm.vmType === 'RTVM');
  if (preRt.length > 1) {
    ctx.report('MULTIPLE_PRE_LAUNCHED_RTVMS', {
      vms: preRt.map((vm) => vm.name),
      message: `ACRN supports at most one pre-launched RTVM, but ${list(preRt.map((v) => `"${v.name}"`))} are.`,
    });
  }
  const postRt = plan.vms.filter((vm) => vm.loadOrder === 'POST_LAUNCHED_VM' && vm.vmType === 'RTVM');
  if (preRt.length > 0 && postRt.length > 0) {
    ctx.report('PRE_AND_POST_LAUNCHED_RTVMS', {
      vms: [...preRt, ...postRt].map((vm) => vm.name),
      message:
        `Pre-launched RTVM ${list(preRt.map((v) => `"${v.name}"`))} and post-launched RTVM ` +
        `${list(postRt.map((v) => `"${v.name}"`))} may not coexist.`,
    });
  }
};
