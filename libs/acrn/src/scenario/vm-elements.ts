import type { LoadOrder, VmConfig } from './plan';

/**
 * Which VM elements config.xsd allows on which VM kind. ACRN's validator slices VMConfigType by load order
 * with the acrn:applicable-vms annotations (scenario_config/schema_slicer.py), so an element on another
 * kind is a syntax error there.
 */

export type VmKind = 'pre-launched' | 'service-vm' | 'post-launched';
const VM_KIND: Record<LoadOrder, VmKind> = {
  PRE_LAUNCHED_VM: 'pre-launched',
  SERVICE_VM: 'service-vm',
  POST_LAUNCHED_VM: 'post-launched',
};

/**
 * The VM kinds config.xsd (v3.3) allows each modelled VM element on (acrn:applicable-vms); elements not
 * listed apply to every VM. A test reads config.xsd to keep this table in step.
 */
export const VM_ELEMENT_KINDS: Readonly<Record<string, readonly VmKind[]>> = {
  memory: ['pre-launched', 'post-launched'],
  cpu_affinity: ['pre-launched', 'post-launched'],
  lapic_passthrough: ['pre-launched', 'post-launched', 'service-vm'],
  io_completion_polling: ['pre-launched', 'post-launched'],
  nested_virtualization_support: ['service-vm'],
  virtual_cat_support: ['pre-launched', 'post-launched'],
  os_config: ['pre-launched', 'service-vm'],
  mmio_resources: ['pre-launched'],
  pci_devs: ['pre-launched', 'post-launched'],
  virtio_devices: ['post-launched'],
};

export function vmElementAllowed(loadOrder: LoadOrder, element: string): boolean {
  const kinds = VM_ELEMENT_KINDS[element];
  return kinds === undefined || kinds.includes(VM_KIND[loadOrder]);
}

export function hasVirtioDevices(vm: VmConfig): boolean {
  const v = vm.virtioDevices;
  return (
    v.console.length + v.network.length + v.input.length + v.block.length + v.vsock.length > 0 ||
    v.gpu !== undefined
  );
}

/** The modelled VM elements whose value differs from "absent / default": those config.xsd must allow. */
export function vmElementsSet(vm: VmConfig): string[] {
  const set: Array<[string, boolean]> = [
    ['memory', vm.memory !== undefined],
    ['cpu_affinity', vm.cpuAffinity.length > 0],
    ['lapic_passthrough', vm.lapicPassthrough],
    ['io_completion_polling', vm.ioCompletionPolling],
    ['nested_virtualization_support', vm.nestedVirtualization],
    ['virtual_cat_support', vm.virtualCatSupport],
    ['os_config', vm.osConfig !== undefined],
    ['mmio_resources', vm.mmioResources.tpm2 || vm.mmioResources.p2sb],
    ['pci_devs', vm.pciDevs.length > 0],
    ['virtio_devices', hasVirtioDevices(vm)],
  ];
  return set.filter(([, isSet]) => isSet).map(([name]) => name);
}
