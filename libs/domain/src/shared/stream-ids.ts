/** Stream names, as docs/event-store.md and ARCHITECTURE.md fix them. */
export const streamIds = {
  hypervisor: (deviceId: string) => `hypervisor-${deviceId}`,
  serviceVm: (deviceId: string) => `service-vm-${deviceId}`,
  // "." separates: ACRN VM names never contain one, so the name cannot be read two ways.
  rtVm: (deviceId: string, vmName: string) => `rt-vm-${deviceId}.${vmName}`,
  /** A VM that is not an RTVM (standard VMs, the Service VM): no RT invariants, so its own aggregate. */
  vm: (deviceId: string, vmName: string) => `vm-${deviceId}.${vmName}`,
  partitionPlan: (planId: string) => `partition-plan-${planId}`,
} as const;
