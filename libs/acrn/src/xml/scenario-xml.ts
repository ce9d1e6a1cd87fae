import type { Board } from '../board/board';
import type { ParseResult } from '../parse-result';
import {
  deriveScenarioKind,
  MAX_KEPT_ELEMENTS,
  NO_COMPANION_VMID,
  parsePartitionPlan,
  toHex,
  type KeptXml,
  type PartitionPlan,
  type PartitionPlanInput,
  type VmConfig,
} from '../scenario/plan';
import { hasVirtioDevices, vmElementAllowed } from '../scenario/vm-elements';
import { validatePartitionPlan } from '../validation/validate';
import type { Violation } from '../validation/violation';
import {
  attr,
  child,
  childNodes,
  childText,
  children,
  elements,
  int,
  parseXml,
  parseXmlDocument,
  serializeDocument,
  serializeNode,
  text,
  yn,
  type XmlElement,
  type XmlErrorCode,
  type XmlNode,
} from './xml';

/**
 * Scenario XML as the ACRN configurator reads and writes it (misc/config_tools/schema/config.xsd,
 * VMtypes.xsd, types.xsd). Element names and nesting follow those schemas. Which element a VM may carry
 * follows config.xsd's acrn:applicable-vms (ACRN's validator slices the schema by load order with them).
 * Elements Hyperfleet does not model are kept verbatim in the plan (`kept`) and written back in place.
 */

const yesNo = (value: boolean) => (value ? 'y' : 'n');

// --- building nodes ---

type Child = XmlNode | string | undefined | false;

function el(name: string, kids: Child[] = [], attrs: Array<[string, string]> = []): XmlNode {
  return { name, attrs, children: kids.filter((k): k is XmlNode | string => k !== undefined && k !== false) };
}

function leaf(name: string, value: string | number | undefined): XmlNode | undefined {
  return value === undefined ? undefined : el(name, value === '' ? [] : [String(value)]);
}

/** An element with children, or nothing when it would be empty. */
function group(name: string, kids: Child[]): XmlNode | undefined {
  const node = el(name, kids);
  return node.children.length > 0 ? node : undefined;
}

function vmNode(vm: VmConfig): XmlNode {
  // An element on a VM kind config.xsd does not allow is written only when it carries a value, so a plan
  // the validator flags (VM_ELEMENT_NOT_APPLICABLE) is not silently changed.
  const on = (element: string, isSet: boolean) => vmElementAllowed(vm.loadOrder, element) || isSet;
  const virtio = vm.virtioDevices;
  const mmioSet = vm.mmioResources.tpm2 || vm.mmioResources.p2sb;
  return el(
    'vm',
    [
      leaf('load_order', vm.loadOrder),
      leaf('vm_type', vm.vmType),
      leaf('name', vm.name),
      leaf('console_vuart', vm.consoleVuart),
      vm.memory &&
        el('memory', [
          leaf('size', vm.memory.sizeMb),
          ...vm.memory.hpaRegions.map((r) =>
            el('hpa_region', [leaf('start_hpa', r.startHpa), leaf('size_hpa', r.sizeHpaMb)]),
          ),
        ]),
      leaf('own_pcpu', yesNo(vm.ownPcpu)),
      vm.cpuAffinity.length > 0 &&
        el(
          'cpu_affinity',
          vm.cpuAffinity.map((p) =>
            el('pcpu', [leaf('pcpu_id', p.pcpuId), leaf('real_time_vcpu', yesNo(p.realTimeVcpu))]),
          ),
        ),
      leaf('lapic_passthrough', yesNo(vm.lapicPassthrough)),
      on('io_completion_polling', vm.ioCompletionPolling) &&
        leaf('io_completion_polling', yesNo(vm.ioCompletionPolling)),
      on('nested_virtualization_support', vm.nestedVirtualization) &&
        leaf('nested_virtualization_support', yesNo(vm.nestedVirtualization)),
      on('virtual_cat_support', vm.virtualCatSupport) &&
        leaf('virtual_cat_support', yesNo(vm.virtualCatSupport)),
      leaf('priority', vm.priority),
      leaf('companion_vmid', vm.companionVmid ?? NO_COMPANION_VMID),
      vm.osConfig &&
        el('os_config', [
          leaf('kern_type', vm.osConfig.kernType),
          leaf('kern_mod', vm.osConfig.kernMod),
          leaf('ramdisk_mod', vm.osConfig.ramdiskMod),
          leaf('bootargs', vm.osConfig.bootargs),
        ]),
      on('mmio_resources', mmioSet) &&
        el('mmio_resources', [
          leaf('TPM2', yesNo(vm.mmioResources.tpm2)),
          leaf('p2sb', yesNo(vm.mmioResources.p2sb)),
        ]),
      vm.pciDevs.length > 0 &&
        el(
          'pci_devs',
          vm.pciDevs.map((d) => leaf('pci_dev', d.description ? `${d.bdf} ${d.description}` : d.bdf)),
        ),
      on('virtio_devices', hasVirtioDevices(vm)) &&
        el('virtio_devices', [
          virtio.gpu &&
            el('gpu', [
              leaf('display_type', virtio.gpu.displayType),
              el(
                'displays',
                virtio.gpu.displays.map((d) =>
                  el('display', [
                    leaf('monitor_id', d.monitorId),
                    leaf('window_resolutions', d.windowResolution),
                    leaf('horizontal_offset', d.horizontalOffset),
                    leaf('vertical_offset', d.verticalOffset),
                  ]),
                ),
              ),
            ]),
          ...virtio.console.map((c) =>
            el('console', [
              leaf('use_type', c.useType),
              leaf('backend_type', c.backendType),
              leaf('output_file_path', c.outputFilePath),
              leaf('sock_file_path', c.sockFilePath),
              leaf('tty_device_path', c.ttyDevicePath),
            ]),
          ),
          ...virtio.network.map((n) =>
            el('network', [
              leaf('virtio_framework', n.virtioFramework),
              leaf('interface_name', n.interfaceName),
            ]),
          ),
          ...virtio.input.map((i) =>
            el('input', [leaf('backend_device_file', i.backendDeviceFile), leaf('id', i.id)]),
          ),
          ...virtio.block.map((b) => leaf('block', b)),
          ...virtio.vsock.map((v) => leaf('vsock', v)),
        ]),
    ],
    [['id', String(vm.id)]],
  );
}

/** The modelled part of the plan as a tree (no kept elements). */
function modelledDocument(plan: PartitionPlan): XmlNode {
  const { hv } = plan;
  return el(
    'acrn-config',
    [
      el('hv', [
        leaf('BUILD_TYPE', hv.buildType),
        el('FEATURES', [
          leaf('SCHEDULER', hv.scheduler),
          leaf('VUART_TIMER_PCPU', hv.vuartTimerPcpu),
          el('RDT', [
            leaf('RDT_ENABLED', yesNo(hv.rdt.rdtEnabled)),
            leaf('CDP_ENABLED', yesNo(hv.rdt.cdpEnabled)),
            leaf('VCAT_ENABLED', yesNo(hv.rdt.vcatEnabled)),
          ]),
          el(
            'IVSHMEM',
            hv.ivshmemRegions.map((r) =>
              el('IVSHMEM_REGION', [
                leaf('NAME', r.name),
                leaf('PROVIDED_BY', r.providedBy),
                leaf('IVSHMEM_SIZE', r.sizeMb),
                el(
                  'IVSHMEM_VMS',
                  r.vms.map((m) => el('IVSHMEM_VM', [leaf('VM_NAME', m.vmName), leaf('VBDF', m.vbdf)])),
                ),
              ]),
            ),
          ),
          el('SSRAM', [leaf('SSRAM_ENABLED', yesNo(hv.ssramEnabled))]),
        ]),
        el(
          'vuart_connections',
          hv.vuartConnections.map((c) =>
            el('vuart_connection', [
              leaf('name', c.name),
              leaf('type', c.type),
              ...c.endpoints.map((e) =>
                el('endpoint', [leaf('vm_name', e.vmName), leaf('io_port', e.ioPort), leaf('vbdf', e.vbdf)]),
              ),
            ]),
          ),
        ),
        el('DEBUG_OPTIONS', [leaf('SERIAL_CONSOLE', hv.serialConsole)]),
        el('CAPACITIES', [leaf('MAX_VM_NUM', hv.maxVmNum)]),
        group(
          'HIDDEN_PDEV_REGION',
          hv.hiddenPdevs.map((d) => leaf('HIDDEN_PDEV', d)),
        ),
        group(
          'CACHE_REGION',
          hv.cacheAllocations.map((a) =>
            el('CACHE_ALLOCATION', [
              leaf('CACHE_ID', toHex(a.cacheId)),
              leaf('CACHE_LEVEL', a.cacheLevel),
              ...a.policies.map((p) =>
                el('POLICY', [
                  leaf('VM', p.vm),
                  leaf('VCPU', p.vcpu),
                  leaf('TYPE', p.type),
                  leaf('CLOS_MASK', p.closMask),
                ]),
              ),
            ]),
          ),
        ),
      ]),
      ...plan.vms.map(vmNode),
    ],
    [
      ['board', plan.board],
      ['scenario', plan.scenario],
    ],
  );
}

// --- kept elements: paths and anchors ---

/** Every child element of `parent` by its label, in one pass. */
function labelled(parent: XmlNode): Array<[string, XmlNode]> {
  const kids = childNodes(parent);
  const counts = new Map<string, number>();
  for (const kid of kids) counts.set(kid.name, (counts.get(kid.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  return kids.map((kid) => {
    const n = (seen.get(kid.name) ?? 0) + 1;
    seen.set(kid.name, n);
    return [counts.get(kid.name)! > 1 ? `${kid.name}[${n}]` : kid.name, kid];
  });
}

function find(parent: XmlNode, step: string): XmlNode | undefined {
  const m = /^(.+?)(?:\[(\d+)\])?$/.exec(step);
  if (!m) return undefined;
  const same = childNodes(parent).filter((c) => c.name === m[1]);
  return same[m[2] === undefined ? 0 : Number(m[2]) - 1];
}

/** Writes kept elements back into the tree under their parent, right after the sibling they followed. */
function insertKept(root: XmlNode, kept: readonly KeptXml[]): void {
  for (const entry of kept) {
    const parsed = parseXmlDocument(entry.xml);
    if (!parsed.ok) continue; // the plan schema refuses such entries; never write broken XML
    let parent = root;
    for (const step of entry.path === '' ? [] : entry.path.split('/')) {
      let next = find(parent, step);
      if (!next) {
        next = el(step.replace(/\[\d+\]$/, ''));
        parent.children.push(next);
      }
      parent = next;
    }
    const anchor = entry.after === null ? undefined : find(parent, entry.after);
    const at =
      entry.after === null ? 0 : anchor ? parent.children.indexOf(anchor) + 1 : parent.children.length;
    parent.children.splice(at, 0, parsed.root);
  }
}

/** The whole scenario document: modelled elements and, in place, the kept ones. */
function scenarioDocument(plan: PartitionPlan): XmlNode {
  const root = modelledDocument(plan);
  insertKept(root, plan.kept ?? []);
  plan.vms.forEach((vm, i) => {
    const vmNodeInTree = childNodes(root).filter((c) => c.name === 'vm')[i];
    if (vmNodeInTree && vm.kept) insertKept(vmNodeInTree, vm.kept);
  });
  return root;
}

/** Writes the plan as scenario XML. It does not validate: use toScenarioXml to refuse a broken plan. */
export function exportScenarioXml(plan: PartitionPlan): string {
  return serializeDocument(scenarioDocument(plan));
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

// --- reading ---

/** Which elements the reader below models; `true` means the element and all its content. */
type Spec = { [name: string]: Spec | true };

const HV_SPEC: Spec = {
  BUILD_TYPE: true,
  FEATURES: {
    SCHEDULER: true,
    VUART_TIMER_PCPU: true,
    RDT: { RDT_ENABLED: true, CDP_ENABLED: true, VCAT_ENABLED: true },
    IVSHMEM: {
      IVSHMEM_REGION: {
        NAME: true,
        PROVIDED_BY: true,
        IVSHMEM_SIZE: true,
        IVSHMEM_VMS: { IVSHMEM_VM: { VM_NAME: true, VBDF: true } },
      },
    },
    SSRAM: { SSRAM_ENABLED: true },
  },
  vuart_connections: {
    vuart_connection: { name: true, type: true, endpoint: { vm_name: true, io_port: true, vbdf: true } },
  },
  DEBUG_OPTIONS: { SERIAL_CONSOLE: true },
  CAPACITIES: { MAX_VM_NUM: true },
  HIDDEN_PDEV_REGION: { HIDDEN_PDEV: true },
  CACHE_REGION: {
    CACHE_ALLOCATION: {
      CACHE_ID: true,
      CACHE_LEVEL: true,
      POLICY: { VM: true, VCPU: true, TYPE: true, CLOS_MASK: true },
    },
  },
};

const VM_SPEC: Spec = {
  load_order: true,
  vm_type: true,
  name: true,
  console_vuart: true,
  memory: { size: true, hpa_region: { start_hpa: true, size_hpa: true } },
  own_pcpu: true,
  cpu_affinity: { pcpu: { pcpu_id: true, real_time_vcpu: true }, pcpu_id: true },
  lapic_passthrough: true,
  io_completion_polling: true,
  nested_virtualization_support: true,
  virtual_cat_support: true,
  priority: true,
  companion_vmid: true,
  os_config: { kern_type: true, kern_mod: true, ramdisk_mod: true, bootargs: true },
  mmio_resources: { TPM2: true, p2sb: true },
  pci_devs: { pci_dev: true },
  virtio_devices: {
    gpu: {
      display_type: true,
      displays: {
        display: {
          monitor_id: true,
          window_resolutions: true,
          horizontal_offset: true,
          vertical_offset: true,
        },
      },
    },
    console: {
      use_type: true,
      backend_type: true,
      output_file_path: true,
      sock_file_path: true,
      tty_device_path: true,
    },
    network: { virtio_framework: true, interface_name: true },
    input: { backend_device_file: true, id: true },
    block: true,
    vsock: true,
  },
};

// VMs are read (and their kept elements collected) one by one below.
const ROOT_SPEC: Spec = { hv: HV_SPEC, vm: true };

/**
 * Collects what the spec does not model, with its parent path and the sibling it follows. The anchor is
 * the nearest earlier sibling that an export of the modelled plan writes (or that is kept itself), so the
 * export puts it back right there and a second import finds the same anchor.
 */
function collectKept(
  node: XmlNode,
  spec: Spec,
  path: string,
  exported: XmlNode | undefined,
  out: KeptXml[],
): void {
  let anchor: string | null = null;
  const twins = new Map(exported ? labelled(exported) : []);
  for (const [name, kid] of labelled(node)) {
    const sub = Object.prototype.hasOwnProperty.call(spec, kid.name) ? spec[kid.name] : undefined;
    if (sub === undefined) {
      if (out.length > MAX_KEPT_ELEMENTS) return; // refused by the caller; stop serializing a flood
      out.push({ path, after: anchor, xml: serializeNode(kid) });
      anchor = name;
      continue;
    }
    const twin = twins.get(name);
    if (twin) {
      anchor = name;
    }
    if (sub !== true) collectKept(kid, sub, path === '' ? name : `${path}/${name}`, twin, out);
  }
}

export interface KeptElement {
  /** Where it sits: `/acrn-config/hv/MEMORY`, `/acrn-config/vm[@id=1]/os_type`. */
  path: string;
  /** The element as written back. */
  xml: string;
}

export type ScenarioImport =
  | { ok: true; value: PartitionPlan; kept: KeptElement[] }
  | { ok: false; code: XmlErrorCode | 'SCENARIO_INVALID'; errors: string[] };

export interface ScenarioImportOptions {
  /** Board name when `<acrn-config>` has no `board` attribute (ACRN's samples have none). */
  board?: string;
  /** Scenario name when `<acrn-config>` has no `scenario` attribute; defaults to the scenario kind. */
  scenario?: string;
}

/** Board name used when neither the XML nor the caller names one. */
export const UNKNOWN_BOARD = 'unknown';

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
    // memory/size is optional in VMtypes.xsd: pre-launched VMs often give only hpa_region.
    memory:
      memory === undefined || (size === undefined && hpaRegions.length === 0)
        ? undefined
        : compact({ sizeMb: size === undefined ? undefined : int(size), hpaRegions }),
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

/** Drops undefined members so optional fields stay absent. */
function compact(element: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(element).filter(([, v]) => v !== undefined));
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Reads scenario XML into a plan, keeping every element the model does not read (listed in `kept`).
 * The scenario kind is derived from the VMs' load orders (ACRN's XML has no kind element); defaults
 * follow config.xsd. Never throws: malformed or hostile XML is an error result with a code.
 */
export function importScenarioXml(xml: string, options: ScenarioImportOptions = {}): ScenarioImport {
  try {
    return readScenario(xml, options);
  } catch (e) {
    // Nothing above should throw; if it does, the caller still gets a result, not a crash.
    return { ok: false, code: 'SCENARIO_INVALID', errors: [`the scenario could not be read: ${String(e)}`] };
  }
}

function readScenario(xml: string, options: ScenarioImportOptions): ScenarioImport {
  const parsed = parseXml(xml);
  if (!parsed.ok) return { ok: false, code: parsed.code, errors: [parsed.error] };
  if (parsed.document.name !== 'acrn-config') {
    return {
      ok: false,
      code: 'XML_WRONG_ROOT',
      errors: [`the root element must be <acrn-config>, not <${parsed.document.name}>`],
    };
  }
  const root = child(parsed.root, 'acrn-config');
  const hv = child(root, 'hv');
  const features = child(hv, 'FEATURES');
  const rdt = child(features, 'RDT');
  const vms = elements(root, 'vm').map(vmInput);
  const kind = deriveScenarioKind({
    vms: vms.map((vm) => ({ loadOrder: vm.loadOrder as VmConfig['loadOrder'] })),
  });
  const input = {
    board: attr(root, 'board') || options.board || UNKNOWN_BOARD,
    scenario: attr(root, 'scenario') || options.scenario || kind,
    kind,
    hv: compact({
      buildType: childText(hv, 'BUILD_TYPE'),
      serialConsole: childText(child(hv, 'DEBUG_OPTIONS'), 'SERIAL_CONSOLE'),
      scheduler: childText(features, 'SCHEDULER'),
      vuartTimerPcpu: int(childText(features, 'VUART_TIMER_PCPU')),
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
      vuartConnections: elements(child(hv, 'vuart_connections'), 'vuart_connection').map((c) =>
        compact({
          name: childText(c, 'name') ?? '',
          type: childText(c, 'type'),
          endpoints: elements(c, 'endpoint').map((e) =>
            compact({
              vmName: childText(e, 'vm_name') ?? '',
              ioPort: childText(e, 'io_port'),
              vbdf: childText(e, 'vbdf'),
            }),
          ),
        }),
      ),
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
  const plan = parsePartitionPlan(input as unknown as PartitionPlanInput);
  if (!plan.ok) return { ok: false, code: 'SCENARIO_INVALID', errors: plan.errors };

  // What the model does not read is kept, anchored against what an export of the model writes. The list
  // is then taken again from the export itself, so it comes in the order an export writes it and a
  // second import of the export gives the same plan.
  const first = attachKept(plan.value, parsed.document);
  const count = (first.kept ?? []).length + first.vms.reduce((n, vm) => n + (vm.kept ?? []).length, 0);
  if (count > MAX_KEPT_ELEMENTS) {
    return {
      ok: false,
      code: 'SCENARIO_INVALID',
      errors: [
        `the scenario has ${count} elements the model does not read; at most ${MAX_KEPT_ELEMENTS} are kept (ACRN's samples have about 50)`,
      ],
    };
  }
  const value = attachKept(plan.value, scenarioDocument(first));
  const kept: KeptElement[] = [
    ...(value.kept ?? []).map((k) => ({ path: keptPath('/acrn-config', k), xml: k.xml })),
    ...value.vms.flatMap((vm) =>
      (vm.kept ?? []).map((k) => ({ path: keptPath(`/acrn-config/vm[@id=${vm.id}]`, k), xml: k.xml })),
    ),
  ];
  return { ok: true, value, kept };
}

/** The plan (without kept elements) with the elements of `document` the model does not read. */
function attachKept(plan: PartitionPlan, document: XmlNode): PartitionPlan {
  const exported = modelledDocument(plan);
  const rootKept: KeptXml[] = [];
  collectKept(document, ROOT_SPEC, '', exported, rootKept);
  const exportedVms = childNodes(exported).filter((c) => c.name === 'vm');
  const vmNodes = childNodes(document).filter((c) => c.name === 'vm');
  const { kept: _ignored, ...rest } = plan;
  return {
    ...rest,
    ...(rootKept.length > 0 ? { kept: rootKept } : {}),
    vms: plan.vms.map(({ kept: _none, ...vm }, i) => {
      const kept: KeptXml[] = [];
      collectKept(vmNodes[i], VM_SPEC, '', exportedVms[i], kept);
      return kept.length > 0 ? { ...vm, kept } : vm;
    }),
  };
}

function keptPath(base: string, k: KeptXml): string {
  const name = /^<([^\s/>]+)/.exec(k.xml)?.[1] ?? '?';
  return `${base}${k.path === '' ? '' : `/${k.path}`}/${name}`;
}

/**
 * Reads scenario XML into a plan (importScenarioXml: the result also lists the kept elements and, on
 * failure, a code). Errors name the offending path.
 */
export function parseScenarioXml(xml: string, options: ScenarioImportOptions = {}): ScenarioImport {
  return importScenarioXml(xml, options);
}

// A ScenarioImport is a ParseResult<PartitionPlan> with more: callers typed against either keep working.
const _compatible: (r: ScenarioImport) => ParseResult<PartitionPlan> = (r) => r;
void _compatible;
