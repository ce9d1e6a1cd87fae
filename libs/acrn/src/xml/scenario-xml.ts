import type { Board } from '../board/board';
import type { ParseResult } from '../parse-result';
import {
  deriveScenarioKind,
  NO_COMPANION_VMID,
  parsePartitionPlan,
  toHex,
  type PartitionPlan,
  type PartitionPlanInput,
  type VmConfig,
} from '../scenario/plan';
import { validatePartitionPlan } from '../validation/validate';
import type { Violation } from '../validation/violation';
import {
  attr,
  buildXml,
  child,
  childText,
  children,
  elements,
  int,
  parseXml,
  text,
  yn,
  type XmlElement,
} from './xml';

/**
 * Scenario XML as the ACRN configurator reads and writes it (misc/config_tools/schema/config.xsd,
 * VMtypes.xsd, types.xsd). Element names and nesting follow those schemas; elements Hyperfleet does not
 * model are neither written nor kept.
 */

const yesNo = (value: boolean) => (value ? 'y' : 'n');

/** Drops undefined members so the builder writes no empty elements for them. */
function compact(element: Record<string, unknown>): XmlElement {
  return Object.fromEntries(Object.entries(element).filter(([, v]) => v !== undefined));
}

function vmElement(vm: VmConfig): XmlElement {
  const virtio = vm.virtioDevices;
  return compact({
    '@_id': String(vm.id),
    load_order: vm.loadOrder,
    vm_type: vm.vmType,
    name: vm.name,
    console_vuart: vm.consoleVuart,
    memory: vm.memory
      ? compact({
          size: String(vm.memory.sizeMb),
          hpa_region:
            vm.memory.hpaRegions.length > 0
              ? vm.memory.hpaRegions.map((r) => ({ start_hpa: r.startHpa, size_hpa: String(r.sizeHpaMb) }))
              : undefined,
        })
      : undefined,
    own_pcpu: yesNo(vm.ownPcpu),
    cpu_affinity:
      vm.cpuAffinity.length > 0
        ? {
            pcpu: vm.cpuAffinity.map((p) => ({
              pcpu_id: String(p.pcpuId),
              real_time_vcpu: yesNo(p.realTimeVcpu),
            })),
          }
        : undefined,
    lapic_passthrough: yesNo(vm.lapicPassthrough),
    io_completion_polling: yesNo(vm.ioCompletionPolling),
    nested_virtualization_support: yesNo(vm.nestedVirtualization),
    virtual_cat_support: yesNo(vm.virtualCatSupport),
    priority: vm.priority,
    companion_vmid: String(vm.companionVmid ?? NO_COMPANION_VMID),
    os_config: vm.osConfig
      ? compact({
          kern_type: vm.osConfig.kernType,
          kern_mod: vm.osConfig.kernMod,
          ramdisk_mod: vm.osConfig.ramdiskMod,
          bootargs: vm.osConfig.bootargs,
        })
      : undefined,
    mmio_resources: { TPM2: yesNo(vm.mmioResources.tpm2), p2sb: yesNo(vm.mmioResources.p2sb) },
    pci_devs:
      vm.pciDevs.length > 0
        ? { pci_dev: vm.pciDevs.map((d) => (d.description ? `${d.bdf} ${d.description}` : d.bdf)) }
        : undefined,
    virtio_devices: compact({
      gpu: virtio.gpu
        ? {
            display_type: virtio.gpu.displayType,
            displays: {
              display: virtio.gpu.displays.map((d) =>
                compact({
                  monitor_id: d.monitorId === undefined ? undefined : String(d.monitorId),
                  window_resolutions: d.windowResolution,
                  horizontal_offset:
                    d.horizontalOffset === undefined ? undefined : String(d.horizontalOffset),
                  vertical_offset: d.verticalOffset === undefined ? undefined : String(d.verticalOffset),
                }),
              ),
            },
          }
        : undefined,
      console: nonEmpty(
        virtio.console.map((c) =>
          compact({
            use_type: c.useType,
            backend_type: c.backendType,
            output_file_path: c.outputFilePath,
            sock_file_path: c.sockFilePath,
            tty_device_path: c.ttyDevicePath,
          }),
        ),
      ),
      network: nonEmpty(
        virtio.network.map((n) => ({ virtio_framework: n.virtioFramework, interface_name: n.interfaceName })),
      ),
      input: nonEmpty(
        virtio.input.map((i) => compact({ backend_device_file: i.backendDeviceFile, id: i.id })),
      ),
      block: nonEmpty(virtio.block),
      vsock: nonEmpty(virtio.vsock.map(String)),
    }),
  });
}

function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

/** Writes the plan as scenario XML. It does not validate: use toScenarioXml to refuse a broken plan. */
export function exportScenarioXml(plan: PartitionPlan): string {
  const { hv } = plan;
  const document: XmlElement = {
    'acrn-config': {
      '@_board': plan.board,
      '@_scenario': plan.scenario,
      hv: compact({
        BUILD_TYPE: hv.buildType,
        FEATURES: compact({
          SCHEDULER: hv.scheduler,
          RDT: {
            RDT_ENABLED: yesNo(hv.rdt.rdtEnabled),
            CDP_ENABLED: yesNo(hv.rdt.cdpEnabled),
            VCAT_ENABLED: yesNo(hv.rdt.vcatEnabled),
          },
          IVSHMEM: {
            IVSHMEM_REGION: nonEmpty(
              hv.ivshmemRegions.map((r) => ({
                NAME: r.name,
                PROVIDED_BY: r.providedBy,
                IVSHMEM_SIZE: String(r.sizeMb),
                IVSHMEM_VMS: { IVSHMEM_VM: r.vms.map((m) => ({ VM_NAME: m.vmName, VBDF: m.vbdf })) },
              })),
            ),
          },
          SSRAM: { SSRAM_ENABLED: yesNo(hv.ssramEnabled) },
        }),
        vuart_connections: {
          vuart_connection: nonEmpty(
            hv.vuartConnections.map((c) => ({
              name: c.name,
              type: c.type,
              endpoint: c.endpoints.map((e) =>
                compact({ vm_name: e.vmName, io_port: e.ioPort, vbdf: e.vbdf }),
              ),
            })),
          ),
        },
        DEBUG_OPTIONS: { SERIAL_CONSOLE: hv.serialConsole },
        CAPACITIES: { MAX_VM_NUM: String(hv.maxVmNum) },
        HIDDEN_PDEV_REGION: hv.hiddenPdevs.length > 0 ? { HIDDEN_PDEV: hv.hiddenPdevs } : undefined,
        CACHE_REGION:
          hv.cacheAllocations.length > 0
            ? {
                CACHE_ALLOCATION: hv.cacheAllocations.map((a) => ({
                  CACHE_ID: toHex(a.cacheId),
                  CACHE_LEVEL: String(a.cacheLevel),
                  POLICY: a.policies.map((p) => ({
                    VM: p.vm,
                    VCPU: String(p.vcpu),
                    TYPE: p.type,
                    CLOS_MASK: p.closMask,
                  })),
                })),
              }
            : undefined,
      }),
      vm: plan.vms.map(vmElement),
    },
  };
  return buildXml(document);
}

export type ScenarioExport =
  { ok: true; xml: string; warnings: Violation[] } | { ok: false; errors: Violation[] };

/** Validates against the board and exports only a plan without errors (warnings travel along). */
export function toScenarioXml(plan: PartitionPlan, board: Board): ScenarioExport {
  const violations = validatePartitionPlan(plan, board);
  const errors = violations.filter((v) => v.severity === 'error');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, xml: exportScenarioXml(plan), warnings: violations };
}

function vmInput(vm: XmlElement): Record<string, unknown> {
  const affinity = child(vm, 'cpu_affinity');
  // ACRN 3.x nests pcpu_id in <pcpu>; 2.x listed <pcpu_id> directly under <cpu_affinity>.
  const cpuAffinity = [
    ...elements(affinity, 'pcpu').map((p) =>
      compact({ pcpuId: int(childText(p, 'pcpu_id')), realTimeVcpu: yn(childText(p, 'real_time_vcpu')) }),
    ),
    ...children(affinity, 'pcpu_id').map((p) => ({ pcpuId: int(text(p)) })),
  ];
  const memory = child(vm, 'memory');
  const size = childText(memory, 'size');
  const hpaRegions = elements(memory, 'hpa_region').map((r) => ({
    startHpa: childText(r, 'start_hpa'),
    sizeHpaMb: int(childText(r, 'size_hpa')),
  }));
  const osConfig = child(vm, 'os_config');
  const companion = int(childText(vm, 'companion_vmid'));
  const mmio = child(vm, 'mmio_resources');
  const virtio = child(vm, 'virtio_devices');
  const gpu = child(virtio, 'gpu');
  return compact({
    id: int(attr(vm, 'id')),
    name: childText(vm, 'name'),
    loadOrder: childText(vm, 'load_order'),
    vmType: childText(vm, 'vm_type'),
    cpuAffinity,
    ownPcpu: yn(childText(vm, 'own_pcpu')),
    lapicPassthrough: yn(childText(vm, 'lapic_passthrough')),
    ioCompletionPolling: yn(childText(vm, 'io_completion_polling')),
    nestedVirtualization: yn(childText(vm, 'nested_virtualization_support')),
    virtualCatSupport: yn(childText(vm, 'virtual_cat_support')),
    priority: childText(vm, 'priority'),
    companionVmid: companion === NO_COMPANION_VMID ? undefined : companion,
    memory:
      memory === undefined || (size === undefined && hpaRegions.length === 0)
        ? undefined
        : { sizeMb: int(size), hpaRegions },
    consoleVuart: childText(vm, 'console_vuart'),
    osConfig:
      osConfig === undefined
        ? undefined
        : compact({
            kernType: childText(osConfig, 'kern_type'),
            kernMod: childText(osConfig, 'kern_mod'),
            ramdiskMod: emptyToUndefined(childText(osConfig, 'ramdisk_mod')),
            bootargs: emptyToUndefined(childText(osConfig, 'bootargs')),
          }),
    pciDevs: children(child(vm, 'pci_devs'), 'pci_dev')
      .map((d) => (text(d) ?? '').trim())
      .filter((d) => d !== '')
      .map((d) => {
        const space = d.indexOf(' ');
        return space < 0 ? { bdf: d } : { bdf: d.slice(0, space), description: d.slice(space + 1).trim() };
      }),
    mmioResources: compact({ tpm2: yn(childText(mmio, 'TPM2')), p2sb: yn(childText(mmio, 'p2sb')) }),
    virtioDevices: compact({
      console: elements(virtio, 'console').map((c) =>
        compact({
          useType: childText(c, 'use_type'),
          backendType: childText(c, 'backend_type'),
          outputFilePath: childText(c, 'output_file_path'),
          sockFilePath: childText(c, 'sock_file_path'),
          ttyDevicePath: childText(c, 'tty_device_path'),
        }),
      ),
      network: elements(virtio, 'network').map((n) =>
        compact({
          virtioFramework: childText(n, 'virtio_framework'),
          interfaceName: childText(n, 'interface_name'),
        }),
      ),
      input: elements(virtio, 'input').map((i) =>
        compact({ backendDeviceFile: childText(i, 'backend_device_file'), id: childText(i, 'id') }),
      ),
      block: children(virtio, 'block').map((b) => text(b)),
      vsock: children(virtio, 'vsock').map((v) => int(text(v))),
      gpu:
        gpu === undefined
          ? undefined
          : {
              displayType: childText(gpu, 'display_type'),
              displays: elements(child(gpu, 'displays'), 'display').map((d) =>
                compact({
                  monitorId: int(childText(d, 'monitor_id')),
                  windowResolution: childText(d, 'window_resolutions'),
                  horizontalOffset: int(childText(d, 'horizontal_offset')),
                  verticalOffset: int(childText(d, 'vertical_offset')),
                }),
              ),
            },
    }),
  });
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Reads scenario XML into a plan. The scenario kind is derived from the VMs' load orders (ACRN's XML
 * has no kind element); defaults follow config.xsd. Errors name the offending path.
 */
export function parseScenarioXml(xml: string): ParseResult<PartitionPlan> {
  const parsed = parseXml(xml);
  if (!parsed.ok) return { ok: false, errors: [parsed.error] };
  const root = child(parsed.root, 'acrn-config');
  if (root === undefined) return { ok: false, errors: ['the root element must be <acrn-config>'] };
  const hv = child(root, 'hv');
  const features = child(hv, 'FEATURES');
  const rdt = child(features, 'RDT');
  const vms = elements(root, 'vm').map(vmInput);
  const input = {
    board: attr(root, 'board') ?? '',
    scenario: attr(root, 'scenario') ?? '',
    kind: deriveScenarioKind({
      vms: vms.map((vm) => ({ loadOrder: vm.loadOrder as VmConfig['loadOrder'] })),
    }),
    hv: compact({
      buildType: childText(hv, 'BUILD_TYPE'),
      serialConsole: childText(child(hv, 'DEBUG_OPTIONS'), 'SERIAL_CONSOLE'),
      scheduler: childText(features, 'SCHEDULER'),
      rdt: compact({
        rdtEnabled: yn(childText(rdt, 'RDT_ENABLED')),
        cdpEnabled: yn(childText(rdt, 'CDP_ENABLED')),
        vcatEnabled: yn(childText(rdt, 'VCAT_ENABLED')),
      }),
      ssramEnabled: yn(childText(child(features, 'SSRAM'), 'SSRAM_ENABLED')),
      maxVmNum: int(childText(child(hv, 'CAPACITIES'), 'MAX_VM_NUM')),
      cacheAllocations: elements(child(hv, 'CACHE_REGION'), 'CACHE_ALLOCATION').map((a) => ({
        cacheId: int(childText(a, 'CACHE_ID')),
        cacheLevel: int(childText(a, 'CACHE_LEVEL')),
        policies: elements(a, 'POLICY').map((p) => ({
          vm: childText(p, 'VM'),
          vcpu: int(childText(p, 'VCPU')),
          type: childText(p, 'TYPE'),
          closMask: childText(p, 'CLOS_MASK'),
        })),
      })),
      vuartConnections: elements(child(hv, 'vuart_connections'), 'vuart_connection').map((c) => ({
        name: childText(c, 'name') ?? '',
        type: childText(c, 'type'),
        endpoints: elements(c, 'endpoint').map((e) =>
          compact({
            vmName: childText(e, 'vm_name') ?? '',
            ioPort: childText(e, 'io_port'),
            vbdf: childText(e, 'vbdf'),
          }),
        ),
      })),
      ivshmemRegions: elements(child(features, 'IVSHMEM'), 'IVSHMEM_REGION').map((r) =>
        compact({
          name: childText(r, 'NAME') ?? '',
          providedBy: childText(r, 'PROVIDED_BY'),
          sizeMb: int(childText(r, 'IVSHMEM_SIZE')),
          vms: elements(child(r, 'IVSHMEM_VMS'), 'IVSHMEM_VM').map((m) => ({
            vmName: childText(m, 'VM_NAME'),
            vbdf: childText(m, 'VBDF'),
          })),
        }),
      ),
      hiddenPdevs: children(child(hv, 'HIDDEN_PDEV_REGION'), 'HIDDEN_PDEV').map((d) => text(d)),
    }),
    vms,
  };
  return parsePartitionPlan(input as unknown as PartitionPlanInput);
}
