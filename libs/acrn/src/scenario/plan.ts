import { z } from 'zod';
import { formatIssues, type ParseResult } from '../parse-result';
import { parseXmlDocument } from '../xml/xml';

/**
 * A partition plan is an ACRN scenario in ACRN's own terms (misc/config_tools/schema/config.xsd,
 * VMtypes.xsd, types.xsd), kept as plain JSON so the aggregate layer can store it in events.
 * The schema checks shape only; ACRN's rules live in validatePartitionPlan.
 */

export const SCENARIO_KINDS = ['shared', 'partitioned', 'hybrid'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

export const SCHEDULERS = ['SCHED_NOOP', 'SCHED_BVT', 'SCHED_IORR', 'SCHED_PRIO'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

export const LOAD_ORDERS = ['SERVICE_VM', 'PRE_LAUNCHED_VM', 'POST_LAUNCHED_VM'] as const;
export type LoadOrder = (typeof LOAD_ORDERS)[number];

export const VM_TYPES = ['RTVM', 'STANDARD_VM', 'TEE_VM', 'REE_VM'] as const;
export type VmType = (typeof VM_TYPES)[number];

export const PRIORITIES = ['PRIO_LOW', 'PRIO_HIGH'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const CONSOLE_VUARTS = [
  'None',
  'COM Port 1',
  'COM Port 2',
  'COM Port 3',
  'COM Port 4',
  'PCI',
] as const;
export type ConsoleVuart = (typeof CONSOLE_VUARTS)[number];

export const CACHE_POLICY_TYPES = ['Unified', 'Code', 'Data'] as const;
export type CachePolicyType = (typeof CACHE_POLICY_TYPES)[number];

export const VUART_TYPES = ['legacy', 'pci'] as const;
export type VuartType = (typeof VUART_TYPES)[number];

export const BUILD_TYPES = ['debug', 'release'] as const;
export type BuildType = (typeof BUILD_TYPES)[number];

export const KERNEL_TYPES = ['KERNEL_BZIMAGE', 'KERNEL_RAWIMAGE', 'KERNEL_ELF'] as const;

/** ACRN's `HexFormat`: `0x…` or `0`. */
export const HEX_PATTERN = /^(0[xX][0-9a-fA-F]+|0)$/;
const hex = z.string().regex(HEX_PATTERN, 'a hexadecimal number with a leading 0x, e.g. 0xff');
const nonNegativeInt = z.int().nonnegative();

/** The companion_vmid value ACRN uses for "none". */
export const NO_COMPANION_VMID = 65535;

export const cachePolicySchema = z.strictObject({
  /** VM name (ACRN keys policies by name). */
  vm: z.string(),
  /** vCPU index inside that VM: the n-th pCPU of its cpu_affinity. */
  vcpu: nonNegativeInt,
  type: z.enum(CACHE_POLICY_TYPES),
  closMask: hex,
});
export type CachePolicy = z.infer<typeof cachePolicySchema>;

export const cacheAllocationSchema = z.strictObject({
  cacheId: nonNegativeInt,
  cacheLevel: z.union([z.literal(2), z.literal(3)]),
  policies: z.array(cachePolicySchema),
});
export type CacheAllocation = z.infer<typeof cacheAllocationSchema>;

export const vuartEndpointSchema = z.strictObject({
  vmName: z.string(),
  ioPort: hex,
  /** Virtual BDF for a PCI vUART. */
  vbdf: z.string().optional(),
});
export type VuartEndpoint = z.infer<typeof vuartEndpointSchema>;

export const vuartConnectionSchema = z.strictObject({
  name: z.string(),
  type: z.enum(VUART_TYPES).default('pci'),
  endpoints: z.tuple([vuartEndpointSchema, vuartEndpointSchema]),
});
export type VuartConnection = z.infer<typeof vuartConnectionSchema>;

export const ivshmemRegionSchema = z.strictObject({
  name: z.string(),
  providedBy: z.enum(['Hypervisor', 'Device Model']).default('Hypervisor'),
  sizeMb: z.literal([2, 4, 8, 16, 32, 64, 128, 256, 512]).default(2),
  vms: z.array(z.strictObject({ vmName: z.string(), vbdf: z.string() })),
});
export type IvshmemRegion = z.infer<typeof ivshmemRegionSchema>;

export const rdtSchema = z.strictObject({
  rdtEnabled: z.boolean().default(false),
  cdpEnabled: z.boolean().default(false),
  vcatEnabled: z.boolean().default(false),
});

/**
 * An element of scenario XML the model does not read, kept verbatim so an export writes it back in place:
 * under `path` (from the VM element for a VM's, from <acrn-config> otherwise; `name[n]` picks the n-th of
 * repeated siblings), right after the sibling element `after` (null: first child).
 */
export const keptXmlSchema = z.strictObject({
  path: z.string().max(1024),
  after: z.string().max(256).nullable(),
  xml: z
    .string()
    .max(256 * 1024)
    .refine((xml) => parseXmlDocument(xml).ok, 'must be one well-formed XML element'),
});
export type KeptXml = z.infer<typeof keptXmlSchema>;

/** Most kept elements in one plan; ACRN's samples have about 50. Bounds the work a hostile file causes. */
export const MAX_KEPT_ELEMENTS = 2000;
/** Most VMs in a plan: far above any ACRN board (CONFIG_MAX_VM_NUM is 16 by default), a hostile-input bound. */
export const MAX_VMS = 256;

export const hypervisorSettingsSchema = z.strictObject({
  buildType: z.enum(BUILD_TYPES).default('release'),
  /** Host serial device for the hypervisor console, or `None`. */
  serialConsole: z.string().default('None'),
  scheduler: z.enum(SCHEDULERS).default('SCHED_BVT'),
  rdt: rdtSchema.prefault({}),
  ssramEnabled: z.boolean().default(false),
  maxVmNum: z.int().positive().default(16),
  /** FEATURES/VUART_TIMER_PCPU: the pCPU whose timer polls the vUARTs (config.xsd default 0). */
  vuartTimerPcpu: nonNegativeInt.default(0),
  cacheAllocations: z.array(cacheAllocationSchema).default(() => []),
  vuartConnections: z.array(vuartConnectionSchema).default(() => []),
  ivshmemRegions: z.array(ivshmemRegionSchema).default(() => []),
  /** HIDDEN_PDEV_REGION: physical devices hidden from every VM. */
  hiddenPdevs: z.array(z.string()).default(() => []),
});
export type HypervisorSettings = z.infer<typeof hypervisorSettingsSchema>;

export const cpuAffinityEntrySchema = z.strictObject({
  pcpuId: nonNegativeInt,
  realTimeVcpu: z.boolean().default(false),
});
export type CpuAffinityEntry = z.infer<typeof cpuAffinityEntrySchema>;

export const vmMemorySchema = z.strictObject({
  /** memory/size; optional in VMtypes.xsd (pre-launched VMs often give only hpa_region). */
  sizeMb: nonNegativeInt.optional(),
  /** Pre-launched VMs only: explicit host physical regions. */
  hpaRegions: z.array(z.strictObject({ startHpa: hex, sizeHpaMb: nonNegativeInt })).default(() => []),
});
export type VmMemory = z.infer<typeof vmMemorySchema>;

export const osConfigSchema = z.strictObject({
  kernType: z.enum(KERNEL_TYPES).default('KERNEL_BZIMAGE'),
  /** GRUB module tag of the kernel; must match the `module2 … <tag>` line. */
  kernMod: z.string(),
  ramdiskMod: z.string().optional(),
  bootargs: z.string().optional(),
});
export type OsConfig = z.infer<typeof osConfigSchema>;

export const gpuDisplaySchema = z.strictObject({
  monitorId: nonNegativeInt.optional(),
  windowResolution: z.string().optional(),
  horizontalOffset: nonNegativeInt.optional(),
  verticalOffset: nonNegativeInt.optional(),
});
export type GpuDisplay = z.infer<typeof gpuDisplaySchema>;

export const virtioDevicesSchema = z.strictObject({
  console: z
    .array(
      z.strictObject({
        useType: z.enum(['Virtio console', 'Virtio serial port']).default('Virtio console'),
        backendType: z.enum(['pty', 'stdio', 'file', 'sock client', 'sock server', 'tty']).default('stdio'),
        outputFilePath: z.string().optional(),
        sockFilePath: z.string().optional(),
        ttyDevicePath: z.string().optional(),
      }),
    )
    .default(() => []),
  network: z
    .array(
      z.strictObject({
        virtioFramework: z
          .enum(['Kernel based (Virtual Host)', 'User space based (VBSU)'])
          .default('User space based (VBSU)'),
        /** Optional in VMtypes.xsd. */
        interfaceName: z.string().optional(),
      }),
    )
    .default(() => []),
  input: z
    .array(z.strictObject({ backendDeviceFile: z.string().optional(), id: z.string().optional() }))
    .default(() => []),
  /** Disk image paths in the Service VM. */
  block: z.array(z.string()).default(() => []),
  /** vsock context ids (> 2). */
  vsock: z.array(z.int().min(3)).default(() => []),
  gpu: z
    .strictObject({ displayType: z.enum(['Window', 'Full screen']), displays: z.array(gpuDisplaySchema) })
    .optional(),
});
export type VirtioDevices = z.infer<typeof virtioDevicesSchema>;

export const pciDevSchema = z.strictObject({
  bdf: z.string(),
  /** The lspci-style text the configurator writes after the BDF. */
  description: z.string().optional(),
});
export type PciDev = z.infer<typeof pciDevSchema>;

export const vmConfigSchema = z.strictObject({
  id: nonNegativeInt,
  /** 1–15 of `[a-zA-Z0-9_-]`, unique; ACRN refers to VMs by name in vUARTs and cache policies. */
  name: z.string(),
  loadOrder: z.enum(LOAD_ORDERS),
  vmType: z.enum(VM_TYPES).default('STANDARD_VM'),
  /**
   * Explicit pCPU affinity; vCPU n runs on the n-th entry. Pre- and post-launched VMs only: ACRN 3.x's
   * config.xsd rejects cpu_affinity on the Service VM, which gets every pCPU no pre-launched VM uses
   * (static_allocators/cpu_affinity.py).
   */
  cpuAffinity: z.array(cpuAffinityEntrySchema).default(() => []),
  ownPcpu: z.boolean().default(false),
  lapicPassthrough: z.boolean().default(false),
  ioCompletionPolling: z.boolean().default(false),
  /** Service VM only (config.xsd); lets the Service VM use LAPIC passthrough. */
  nestedVirtualization: z.boolean().default(false),
  virtualCatSupport: z.boolean().default(false),
  priority: z.enum(PRIORITIES).default('PRIO_LOW'),
  /** VM id allowed to share this VM's pCPUs (TEE/REE pairs); absent means none (ACRN's 65535). */
  companionVmid: z.int().min(0).max(65534).optional(),
  /** Pre- and post-launched VMs; ACRN's default is 1024 MB when absent. */
  memory: vmMemorySchema.optional(),
  consoleVuart: z.enum(CONSOLE_VUARTS).default('None'),
  osConfig: osConfigSchema.optional(),
  /** Passed-through PCI functions. */
  pciDevs: z.array(pciDevSchema).default(() => []),
  mmioResources: z
    .strictObject({ tpm2: z.boolean().default(false), p2sb: z.boolean().default(false) })
    .prefault({}),
  virtioDevices: virtioDevicesSchema.prefault({}),
  /** Elements of this VM the model does not read, written back in place on export. */
  kept: z.array(keptXmlSchema).max(MAX_KEPT_ELEMENTS).optional(),
});
export type VmConfig = z.infer<typeof vmConfigSchema>;
export type VmConfigInput = z.input<typeof vmConfigSchema>;

export const partitionPlanSchema = z.strictObject({
  /** Board name the scenario was made for (`acrn-config/@board`). */
  board: z.string().min(1),
  /** Scenario name (`acrn-config/@scenario`), e.g. `hybrid_rt`. */
  scenario: z.string().min(1),
  kind: z.enum(SCENARIO_KINDS),
  hv: hypervisorSettingsSchema.prefault({}),
  vms: z.array(vmConfigSchema).min(1).max(MAX_VMS),
  /** Elements outside the VMs the model does not read (hv/MEMORY, MISC_CFG, log levels, …). */
  kept: z.array(keptXmlSchema).max(MAX_KEPT_ELEMENTS).optional(),
});
export type PartitionPlan = z.infer<typeof partitionPlanSchema>;
export type PartitionPlanInput = z.input<typeof partitionPlanSchema>;

/** Checks plan JSON and fills ACRN's defaults; errors are sentences with the path of each problem. */
export function parsePartitionPlan(input: unknown): ParseResult<PartitionPlan> {
  const result = partitionPlanSchema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, errors: formatIssues(result.error) };
}

/** Like parsePartitionPlan for input known to be well-formed (builders, fixtures); throws otherwise. */
export function partitionPlan(input: PartitionPlanInput): PartitionPlan {
  const result = parsePartitionPlan(input);
  if (!result.ok) throw new Error(`invalid partition plan:\n${result.errors.join('\n')}`);
  return result.value;
}

export function serviceVmOf(plan: PartitionPlan): VmConfig | undefined {
  return plan.vms.find((vm) => vm.loadOrder === 'SERVICE_VM');
}

/** The kind the VMs imply: Service VM only → shared, pre-launched only → partitioned, both → hybrid. */
export function deriveScenarioKind(plan: {
  vms: ReadonlyArray<{ loadOrder: LoadOrder | undefined }>;
}): ScenarioKind {
  const hasService = plan.vms.some((vm) => vm.loadOrder === 'SERVICE_VM');
  const hasPre = plan.vms.some((vm) => vm.loadOrder === 'PRE_LAUNCHED_VM');
  if (!hasService) return 'partitioned';
  return hasPre ? 'hybrid' : 'shared';
}

export function parseHex(value: string): number {
  return value === '0' ? 0 : Number.parseInt(value.slice(2), 16);
}

export function toHex(value: number): string {
  return `0x${value.toString(16)}`;
}
