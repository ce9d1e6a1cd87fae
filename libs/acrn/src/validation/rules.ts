import type { Severity } from './violation';

export const RULE_GROUPS = [
  'schema',
  'scenario',
  'cpu_assignment',
  'vm_types',
  'rdt_support',
  'vm_memory',
  'vuart_config',
  'ivsh_memory',
  'vbdf_assignment',
  'passthrough_devices',
  'pci_config',
  'virtio_devices',
  'build_checks',
] as const;
export type RuleGroup = (typeof RULE_GROUPS)[number];

export interface RuleInfo {
  group: RuleGroup;
  severity: Severity;
  /** Where ACRN states the rule (path in projectacrn/acrn-hypervisor), or "Hyperfleet" with the reason. */
  source: string;
  summary: string;
}

/**
 * Every rule validatePartitionPlan enforces. docs/acrn-rules.md maps each ACRN check onto these codes;
 * a unit test keeps the two in step.
 */
export const RULES = {
  // --- config.xsd / VMtypes.xsd structure ---
  VM_NAME_INVALID: {
    group: 'schema',
    severity: 'error',
    source: 'misc/config_tools/schema/types.xsd (VMNameType)',
    summary: 'A VM name is 1–15 letters, digits, "_" or "-".',
  },
  VM_NAME_DUPLICATE: {
    group: 'schema',
    severity: 'error',
    source: 'misc/config_tools/schema/config.xsd (xs:unique vmNameUnique)',
    summary: 'VM names are unique.',
  },
  VM_ID_DUPLICATE: {
    group: 'schema',
    severity: 'error',
    source: 'misc/config_tools/schema/config.xsd (vm/@id indexes vm_configs[])',
    summary: 'VM ids are unique.',
  },
  VM_ID_EXCEEDS_MAX_VM_NUM: {
    group: 'schema',
    severity: 'error',
    source: 'misc/config_tools/schema/config.xsd (CAPACITIES/MAX_VM_NUM); vm_configs[CONFIG_MAX_VM_NUM]',
    summary: 'Every VM id is below MAX_VM_NUM.',
  },
  SERVICE_VM_TYPE_INVALID: {
    group: 'schema',
    severity: 'error',
    source: 'misc/config_tools/schema/VMtypes.xsd (VMType: RTVM applies to pre-/post-launched VMs only)',
    summary: 'The Service VM is a STANDARD_VM.',
  },
  VM_ELEMENT_NOT_APPLICABLE: {
    group: 'schema',
    severity: 'error',
    source:
      'misc/config_tools/schema/config.xsd (acrn:applicable-vms; scenario_config/schema_slicer.py slices VMConfigType by load order)',
    summary:
      'A VM carries only the elements config.xsd allows on its kind (e.g. cpu_affinity and virtual_cat_support not on the Service VM, nested_virtualization_support only on it, mmio_resources only pre-launched, virtio_devices only post-launched).',
  },
  UNKNOWN_VM_REFERENCE: {
    group: 'schema',
    severity: 'error',
    source: 'misc/hv_prebuild/vm_cfg_checks.c (t_vuart.vm_id < CONFIG_MAX_VM_NUM); configurator option lists',
    summary: 'vUART endpoints, IVSHMEM regions, cache policies and companion_vmid name VMs of the plan.',
  },
  // --- scenario kind ---
  SCENARIO_KIND_MISMATCH: {
    group: 'scenario',
    severity: 'warning',
    source: 'Hyperfleet: the kind must match the VMs (shared, partitioned, hybrid)',
    summary: 'The declared scenario kind matches the load orders of the VMs.',
  },
  POST_LAUNCHED_WITHOUT_SERVICE_VM: {
    group: 'scenario',
    severity: 'error',
    source: 'ACRN 2.x scenario vm_configurations.h: "When SOS_VM_NUM is 0U, MAX_POST_VM_NUM must be 0U too"',
    summary: 'Post-launched VMs need a Service VM to run their Device Model.',
  },
  // --- checks/cpu_assignment.xsd ---
  PCPU_NOT_ON_BOARD: {
    group: 'cpu_assignment',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'Every pCPU in a cpu_affinity exists on the board.',
  },
  PCPU_DUPLICATE_IN_VM: {
    group: 'cpu_assignment',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'A VM names each pCPU once.',
  },
  RTVM_PCPU_SHARED: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: "An RTVM's pCPUs are shared with no VM except its companion_vmid.",
  },
  OWN_PCPU_SHARED: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'own_pcpu=y makes the pCPUs exclusive (companion_vmid excepted).',
  },
  VUART_TIMER_PCPU_ON_LAPIC_PASSTHROUGH_VM: {
    group: 'cpu_assignment',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd (ACRN v3.3)',
    summary:
      'The pCPU hosting the vUART timer (VUART_TIMER_PCPU) is not in a LAPIC-passthrough VM (the console would lag).',
  },
  VM_WITHOUT_PCPU: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'Every VM other than the Service VM has at least one pCPU.',
  },
  MIXED_CORE_TYPES: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'A VM does not mix performance and efficiency cores.',
  },
  RTVM_ON_PCPU0: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/cpu_assignment.xsd',
    summary: 'pCPU 0 is never given to an RTVM.',
  },
  LAPIC_PASSTHROUGH_PCPU_SHARED: {
    group: 'cpu_assignment',
    severity: 'error',
    source: 'doc/tutorials/cpu_sharing.rst (CPU sharing is not available to LAPIC passthrough VMs)',
    summary: "A LAPIC-passthrough VM's pCPUs are shared with no VM except its companion_vmid.",
  },
  SCHED_NOOP_PCPU_SHARED: {
    group: 'cpu_assignment',
    severity: 'error',
    source:
      'misc/config_tools/schema/types.xsd (SchedulerType: NOOP is a strict one-to-one vCPU/pCPU mapping)',
    summary: 'With SCHED_NOOP no two VMs name the same pCPU.',
  },
  // --- checks/vm_types.xsd ---
  MULTIPLE_SERVICE_VMS: {
    group: 'vm_types',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vm_types.xsd',
    summary: 'At most one Service VM.',
  },
  PRE_LAUNCHED_ID_NOT_BELOW_SERVICE_VM: {
    group: 'vm_types',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vm_types.xsd',
    summary: "Pre-launched VM ids are below the Service VM's id.",
  },
  POST_LAUNCHED_ID_NOT_ABOVE_SERVICE_VM: {
    group: 'vm_types',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vm_types.xsd',
    summary: "Post-launched VM ids are above the Service VM's id.",
  },
  MULTIPLE_PRE_LAUNCHED_RTVMS: {
    group: 'vm_types',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/vm_types.xsd',
    summary: 'At most one pre-launched RTVM.',
  },
  PRE_AND_POST_LAUNCHED_RTVMS: {
    group: 'vm_types',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/vm_types.xsd',
    summary: 'Pre- and post-launched RTVMs do not coexist.',
  },
  // --- checks/rdt_support.xsd ---
  VCAT_REQUIRES_RDT_WITHOUT_CDP: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd',
    summary: 'VCAT_ENABLED needs RDT_ENABLED=y and CDP_ENABLED=n.',
  },
  CDP_UNSUPPORTED_BY_CACHES: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd',
    summary: 'CDP needs every L2 and L3 cache to report CDP.',
  },
  VM_VCAT_REQUIRES_HV_VCAT: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd',
    summary: 'virtual_cat_support=y needs RDT_ENABLED=y and VCAT_ENABLED=y.',
  },
  SERVICE_VM_LAPIC_PASSTHROUGH: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd; misc/hv_prebuild/vm_cfg_checks.c (ACRN 2.x)',
    summary: 'The Service VM uses no LAPIC passthrough unless nested virtualization is on.',
  },
  SSRAM_OVERLAPS_PRE_LAUNCHED_RTVM_HOLE: {
    group: 'rdt_support',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd',
    summary: 'With a pre-launched RTVM, L3 Software SRAM lies below 2 GB or at/above 0xf8000000.',
  },
  CLOS_EXCEEDS_BOARD: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd (number-of-clos-id-needed); vm_cfg_checks.c',
    summary: "CLOS ids needed by the cache policies < the board's smallest clos_number.",
  },
  CLOS_MASK_OVERLAPS_SSRAM: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/rdt_support.xsd',
    summary: 'CLOS masks leave the Software SRAM ways of their cache alone.',
  },
  CAT_MASK_NOT_CONTIGUOUS: {
    group: 'rdt_support',
    severity: 'error',
    source: 'doc/tutorials/rdt_configuration.rst; Intel SDM 17.19 (non-contiguous CBM raises #GP)',
    summary: 'A CLOS mask is a non-empty run of contiguous 1-bits.',
  },
  CLOS_MASK_TOO_WIDE: {
    group: 'rdt_support',
    severity: 'error',
    source: "Hyperfleet: bits beyond the cache's capacity_mask_length raise #GP (Intel SDM 17.19)",
    summary: "A CLOS mask fits the cache's capacity_mask_length.",
  },
  CACHE_NOT_ON_BOARD: {
    group: 'rdt_support',
    severity: 'error',
    source: "Hyperfleet: clos.py reads the board's cache for every CACHE_ALLOCATION",
    summary: 'Every CACHE_ALLOCATION names a board cache that has CAT.',
  },
  POLICY_VCPU_OUT_OF_RANGE: {
    group: 'rdt_support',
    severity: 'error',
    source: 'Hyperfleet: a POLICY vCPU must exist (the configurator lists one row per vCPU)',
    summary: 'A cache policy names a vCPU the VM has.',
  },
  POLICY_TYPE_MISMATCH: {
    group: 'rdt_support',
    severity: 'error',
    source: 'misc/config_tools/library/rdt.py (CDP uses Data/Code pairs; Unified otherwise)',
    summary: 'With CDP each policy owner has Code and Data policies; without CDP all are Unified.',
  },
  RDT_WITHOUT_BOARD_CAT: {
    group: 'rdt_support',
    severity: 'warning',
    source: 'misc/config_tools/schema/types.xsd (RDT_ENABLED is ignored if the board has no RDT)',
    summary: 'RDT is enabled only on a board with CAT.',
  },
  CACHE_ALLOCATION_WITHOUT_RDT: {
    group: 'rdt_support',
    severity: 'warning',
    source: 'Hyperfleet: CACHE_REGION only takes effect with RDT_ENABLED=y',
    summary: 'Cache policies are given only when RDT is enabled.',
  },
  // --- checks/vm_memory.xsd ---
  VM_MEMORY_EXCEEDS_HOST: {
    group: 'vm_memory',
    severity: 'warning',
    source: 'misc/config_tools/schema/checks/vm_memory.xsd',
    summary: "The non-Service VMs' memory is below the host's System RAM.",
  },
  // --- checks/vuart_config.xsd ---
  VUART_SELF_CONNECTION: {
    group: 'vuart_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vuart_config.xsd; misc/hv_prebuild/vm_cfg_checks.c',
    summary: 'A vUART connection does not connect a VM to itself.',
  },
  VUART_IO_PORT_DUPLICATE: {
    group: 'vuart_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vuart_config.xsd',
    summary: 'A VM uses each vUART I/O port once.',
  },
  VUART_CONSOLE_PORT_REUSED: {
    group: 'vuart_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vuart_config.xsd',
    summary: "A vUART endpoint does not take the I/O port of its VM's console COM port.",
  },
  VUART_VM_NAME_MISSING: {
    group: 'vuart_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vuart_config.xsd',
    summary: 'Every vUART endpoint names a VM.',
  },
  DEBUG_BUILD_WITHOUT_SERIAL_CONSOLE: {
    group: 'vuart_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vuart_config.xsd',
    summary: 'A debug build has a hypervisor serial console.',
  },
  // --- checks/ivsh_memory.xsd ---
  IVSHMEM_VM_DUPLICATE: {
    group: 'ivsh_memory',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/ivsh_memory.xsd',
    summary: 'A VM appears once in an IVSHMEM region.',
  },
  IVSHMEM_REGION_NAME_MISSING: {
    group: 'ivsh_memory',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/ivsh_memory.xsd',
    summary: 'Every IVSHMEM region has a name.',
  },
  // --- checks/vbdf_assignment.xsd ---
  VBDF_DUPLICATE_IN_VM: {
    group: 'vbdf_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vbdf_assignment.xsd',
    summary: 'PCI vUARTs and IVSHMEM devices of one VM use distinct virtual BDFs.',
  },
  VBDF_CONFLICTS_WITH_NATIVE_DEVICE: {
    group: 'vbdf_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vbdf_assignment.xsd',
    summary: "The Service VM's virtual BDFs do not collide with native PCI devices.",
  },
  P2SB_HIDDEN: {
    group: 'vbdf_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vbdf_assignment.xsd',
    summary: 'P2SB is not passed through while 00:1f.1 is a hidden device.',
  },
  VBDF_RESERVED_FOR_POST_LAUNCHED_VM: {
    group: 'vbdf_assignment',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/vbdf_assignment.xsd',
    summary: "A post-launched VM's IVSHMEM/vUART virtual device numbers are 03–1e.",
  },
  // --- checks/passthrough_devices.xsd, checks/pci_config.xsd ---
  TPM2_AND_P2SB: {
    group: 'passthrough_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/passthrough_devices.xsd',
    summary: 'A VM does not get both TPM2 and P2SB.',
  },
  PCI_DEV_DUPLICATE: {
    group: 'pci_config',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/pci_config.xsd',
    summary: 'A PCI device is passed through once.',
  },
  PCI_DEV_NOT_ON_BOARD: {
    group: 'pci_config',
    severity: 'warning',
    source: "Hyperfleet: the configurator only offers the board's devices (VMtypes.xsd pci_dev options)",
    summary: 'A passed-through PCI device exists on the board.',
  },
  // --- checks/virtio_devices.xsd ---
  VSOCK_CID_DUPLICATE: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'vsock CIDs are unique across VMs.',
  },
  GPU_MONITOR_ID_MISSING: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'A full-screen virtual display has a monitor id.',
  },
  GPU_WINDOW_RESOLUTION_MISSING: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'A window display has a resolution.',
  },
  GPU_WINDOW_OFFSET_MISSING: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'A window display has horizontal and vertical offsets.',
  },
  GPU_MONITOR_ID_DUPLICATE: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'A monitor id is used by one full-screen display.',
  },
  GPU_TOO_MANY_DISPLAYS: {
    group: 'virtio_devices',
    severity: 'error',
    source: 'misc/config_tools/schema/checks/virtio_devices.xsd',
    summary: 'At most 4 full-screen displays or 2 windows per VM.',
  },
  // --- misc/hv_prebuild/vm_cfg_checks.c and the static allocators ---
  PCPU_OUTSIDE_PLATFORM: {
    group: 'build_checks',
    severity: 'error',
    source: 'misc/hv_prebuild/vm_cfg_checks.c (cpu_affinity & ~PLATFORM_CPUS_MASK)',
    summary: 'Every affinity pCPU id is below the number of board pCPUs (MAX_PCPU_NUM).',
  },
  SERVICE_VM_WITHOUT_PCPU: {
    group: 'build_checks',
    severity: 'error',
    source: 'misc/hv_prebuild/vm_cfg_checks.c (cpu_affinity == 0); static_allocators/cpu_affinity.py',
    summary: 'Pre-launched VMs leave the Service VM at least one pCPU.',
  },
  PRE_LAUNCHED_RTVM_WITHOUT_LAPIC_PASSTHROUGH: {
    group: 'build_checks',
    severity: 'error',
    source: 'misc/hv_prebuild/vm_cfg_checks.c (ACRN 3.x: GUEST_FLAG_RT needs GUEST_FLAG_LAPIC_PASSTHROUGH)',
    summary: 'A pre-launched RTVM uses LAPIC passthrough.',
  },
  PRE_LAUNCHED_LAPIC_PASSTHROUGH_NOT_RTVM: {
    group: 'build_checks',
    severity: 'warning',
    source: 'misc/hv_prebuild/vm_cfg_checks.c (ACRN 2.x: GUEST_FLAG_LAPIC_PASSTHROUGH needs GUEST_FLAG_RT)',
    summary: 'A pre-launched VM with LAPIC passthrough is an RTVM.',
  },
  POST_LAUNCHED_ON_PRE_LAUNCHED_PCPU: {
    group: 'build_checks',
    severity: 'warning',
    source: 'hypervisor/arch/x86/configs/vm_config.c sanitize_vm_config (ACRN 1.x-2.0 boot-time check)',
    summary: "A post-launched VM does not use a pre-launched VM's pCPU.",
  },
} as const satisfies Record<string, RuleInfo>;

export type RuleCode = keyof typeof RULES;

/**
 * Each assertion of ACRN's checks/*.xsd (v3.3; `<file>#<n>` is the n-th xs:assert of the file, as
 * libs/acrn/test-data/validate.py names them) and the rule codes that report it. The corpus test compares
 * verdicts on ACRN's samples through this table; docs/acrn-rules.md lists it.
 */
export const ACRN_CHECKS = {
  'cpu_assignment.xsd#1': ['PCPU_NOT_ON_BOARD'],
  'cpu_assignment.xsd#2': ['PCPU_DUPLICATE_IN_VM'],
  'cpu_assignment.xsd#3': ['RTVM_PCPU_SHARED'],
  'cpu_assignment.xsd#4': ['OWN_PCPU_SHARED'],
  'cpu_assignment.xsd#5': ['VM_WITHOUT_PCPU'],
  'cpu_assignment.xsd#6': ['MIXED_CORE_TYPES'],
  'cpu_assignment.xsd#7': ['RTVM_ON_PCPU0'],
  'cpu_assignment.xsd#8': ['VUART_TIMER_PCPU_ON_LAPIC_PASSTHROUGH_VM'],
  'ivsh_memory.xsd#1': ['IVSHMEM_VM_DUPLICATE'],
  'ivsh_memory.xsd#2': ['IVSHMEM_REGION_NAME_MISSING'],
  'passthrough_devices.xsd#1': ['TPM2_AND_P2SB'],
  'pci_config.xsd#1': ['PCI_DEV_DUPLICATE'],
  'rdt_support.xsd#1': ['VCAT_REQUIRES_RDT_WITHOUT_CDP'],
  'rdt_support.xsd#2': ['CDP_UNSUPPORTED_BY_CACHES'],
  'rdt_support.xsd#3': ['VM_VCAT_REQUIRES_HV_VCAT'],
  'rdt_support.xsd#4': ['SERVICE_VM_LAPIC_PASSTHROUGH'],
  'rdt_support.xsd#5': ['SSRAM_OVERLAPS_PRE_LAUNCHED_RTVM_HOLE'],
  'rdt_support.xsd#6': ['CLOS_EXCEEDS_BOARD'],
  'rdt_support.xsd#7': ['CLOS_MASK_OVERLAPS_SSRAM'],
  'vbdf_assignment.xsd#1': ['VBDF_DUPLICATE_IN_VM'],
  'vbdf_assignment.xsd#2': ['VBDF_CONFLICTS_WITH_NATIVE_DEVICE'],
  'vbdf_assignment.xsd#3': ['P2SB_HIDDEN'],
  'vbdf_assignment.xsd#4': ['VBDF_RESERVED_FOR_POST_LAUNCHED_VM'],
  'vbdf_assignment.xsd#5': ['VBDF_RESERVED_FOR_POST_LAUNCHED_VM'],
  'virtio_devices.xsd#1': ['VSOCK_CID_DUPLICATE'],
  'virtio_devices.xsd#2': ['GPU_MONITOR_ID_MISSING'],
  'virtio_devices.xsd#3': ['GPU_WINDOW_RESOLUTION_MISSING', 'GPU_WINDOW_OFFSET_MISSING'],
  'virtio_devices.xsd#4': ['GPU_WINDOW_RESOLUTION_MISSING'],
  'virtio_devices.xsd#5': ['GPU_WINDOW_OFFSET_MISSING'],
  'virtio_devices.xsd#6': ['GPU_WINDOW_OFFSET_MISSING'],
  'virtio_devices.xsd#7': ['GPU_MONITOR_ID_DUPLICATE'],
  'virtio_devices.xsd#8': ['GPU_TOO_MANY_DISPLAYS'],
  'virtio_devices.xsd#9': ['GPU_TOO_MANY_DISPLAYS'],
  'vm_memory.xsd#1': ['VM_MEMORY_EXCEEDS_HOST'],
  'vm_types.xsd#1': ['MULTIPLE_SERVICE_VMS'],
  'vm_types.xsd#2': ['PRE_LAUNCHED_ID_NOT_BELOW_SERVICE_VM'],
  'vm_types.xsd#3': ['POST_LAUNCHED_ID_NOT_ABOVE_SERVICE_VM'],
  'vm_types.xsd#4': ['MULTIPLE_PRE_LAUNCHED_RTVMS'],
  'vm_types.xsd#5': ['PRE_AND_POST_LAUNCHED_RTVMS'],
  'vuart_config.xsd#1': ['VUART_SELF_CONNECTION'],
  'vuart_config.xsd#2': ['VUART_IO_PORT_DUPLICATE'],
  'vuart_config.xsd#3': ['VUART_CONSOLE_PORT_REUSED'],
  'vuart_config.xsd#4': ['VUART_VM_NAME_MISSING'],
  'vuart_config.xsd#5': ['DEBUG_BUILD_WITHOUT_SERIAL_CONSOLE'],
} as const satisfies Record<string, readonly RuleCode[]>;
export type AcrnCheck = keyof typeof ACRN_CHECKS;

export const RULE_CODES = Object.keys(RULES) as RuleCode[];
