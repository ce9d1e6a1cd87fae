import { parseHex, type ConsoleVuart, type VmConfig } from '../../scenario/plan';
import { list, type Check } from '../context';
import { groupBy } from './schema';

const MIB = 1024 * 1024;

/** Legacy COM base ports of console_vuart, as vuart_config.xsd pairs them. */
const CONSOLE_PORTS: Partial<Record<ConsoleVuart, number>> = {
  'COM Port 1': 0x3f8,
  'COM Port 2': 0x2f8,
  'COM Port 3': 0x3e8,
  'COM Port 4': 0x2e8,
};

/** checks/vm_memory.xsd. */
export const vmMemoryChecks: Check = (ctx) => {
  const guests = ctx.plan.vms.filter((vm) => vm.loadOrder !== 'SERVICE_VM');
  const neededMb = guests.reduce((sum, vm) => sum + memoryMb(vm), 0);
  const hostMb = ctx.board.memory.totalBytes / MIB;
  if (!(ctx.board.memory.totalBytes > neededMb * MIB)) {
    ctx.report('VM_MEMORY_EXCEEDS_HOST', {
      vms: guests.map((vm) => vm.name),
      message: `The pre- and post-launched VMs take ${neededMb} MB, more than the ${Math.floor(hostMb)} MB of host memory.`,
    });
  }
};

/**
 * vm_memory.xsd adds the memory/size and hpa_region/size_hpa the scenario gives; like ACRN's validator
 * (whose default populator does not add the optional memory element) it counts nothing for a VM without.
 */
function memoryMb(vm: VmConfig): number {
  if (!vm.memory) return 0;
  return (vm.memory.sizeMb ?? 0) + vm.memory.hpaRegions.reduce((sum, r) => sum + r.sizeHpaMb, 0);
}

/** checks/vuart_config.xsd. */
export const vuartChecks: Check = (ctx) => {
  const { plan } = ctx;
  for (const connection of plan.hv.vuartConnections) {
    const [a, b] = connection.endpoints;
    if (a.vmName === '' || b.vmName === '') {
      ctx.report('VUART_VM_NAME_MISSING', {
        message: `vUART connection "${connection.name}" has an endpoint without a VM name.`,
      });
    } else if (a.vmName === b.vmName) {
      ctx.report('VUART_SELF_CONNECTION', {
        vms: [a.vmName],
        message: `vUART connection "${connection.name}" connects VM "${a.vmName}" to itself.`,
      });
    }
  }
  const endpoints = plan.hv.vuartConnections.flatMap((c) =>
    c.endpoints.filter((e) => e.vmName !== '').map((e) => ({ ...e, connection: c.name })),
  );
  for (const [vmName, own] of groupBy(endpoints, (e) => e.vmName)) {
    for (const [port, users] of groupBy(own, (e) => parseHex(e.ioPort))) {
      if (users.length > 1) {
        ctx.report('VUART_IO_PORT_DUPLICATE', {
          vms: [vmName],
          message:
            `VM "${vmName}" uses I/O port 0x${port.toString(16).toUpperCase()} in vUART connections ` +
            `${list(users.map((u) => `"${u.connection}"`))}; each endpoint of a VM needs its own port.`,
        });
      }
    }
    const vm = ctx.vmByName.get(vmName);
    const consolePort = vm ? CONSOLE_PORTS[vm.consoleVuart] : undefined;
    if (vm && consolePort !== undefined && own.some((e) => parseHex(e.ioPort) === consolePort)) {
      ctx.report('VUART_CONSOLE_PORT_REUSED', {
        vms: [vmName],
        message: `VM "${vmName}" uses its console ${vm.consoleVuart} port (0x${consolePort.toString(16).toUpperCase()}) for a vUART connection too.`,
      });
    }
  }
  if (plan.hv.buildType === 'debug' && plan.hv.serialConsole === 'None') {
    ctx.report('DEBUG_BUILD_WITHOUT_SERIAL_CONSOLE', {
      message: 'A debug hypervisor build needs a serial console; pick one or build a release hypervisor.',
    });
  }
};

/** checks/ivsh_memory.xsd. */
export const ivshmemChecks: Check = (ctx) => {
  for (const region of ctx.plan.hv.ivshmemRegions) {
    if (region.name === '') {
      ctx.report('IVSHMEM_REGION_NAME_MISSING', {
        vms: region.vms.map((m) => m.vmName),
        message: 'An inter-VM shared memory region has no name.',
      });
    }
    for (const [vmName, entries] of groupBy(region.vms, (m) => m.vmName)) {
      if (entries.length > 1) {
        ctx.report('IVSHMEM_VM_DUPLICATE', {
          vms: [vmName],
          message: `VM "${vmName}" is listed ${entries.length} times in shared memory region "${region.name}".`,
        });
      }
    }
  }
};

/** Device number of a `bb:dd.f` BDF. */
function deviceNumber(bdf: string): number | undefined {
  const match = /^[0-9a-fA-F]{1,2}:([0-9a-fA-F]{2})\.[0-7]$/.exec(bdf.trim());
  return match ? Number.parseInt(match[1], 16) : undefined;
}

function sameBdf(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** checks/vbdf_assignment.xsd. */
export const vbdfChecks: Check = (ctx) => {
  const { plan, board } = ctx;
  for (const vm of plan.vms) {
    const vbdfs = [
      ...plan.hv.vuartConnections
        .filter((c) => c.type === 'pci')
        .flatMap((c) => c.endpoints.filter((e) => e.vmName === vm.name && e.vbdf).map((e) => e.vbdf!)),
      ...plan.hv.ivshmemRegions.flatMap((r) => r.vms.filter((m) => m.vmName === vm.name).map((m) => m.vbdf)),
    ];
    for (const [vbdf, users] of groupBy(vbdfs, (v) => v.toLowerCase())) {
      if (users.length > 1) {
        ctx.report('VBDF_DUPLICATE_IN_VM', {
          vms: [vm.name],
          message: `VM "${vm.name}" has ${users.length} virtual UART or IVSHMEM devices at BDF ${vbdf}; make them unique.`,
        });
      }
    }
    if (vm.loadOrder === 'SERVICE_VM') {
      for (const vbdf of new Set(vbdfs)) {
        const native = board.devices.find((d) => sameBdf(d.bdf, vbdf));
        if (native) {
          ctx.report('VBDF_CONFLICTS_WITH_NATIVE_DEVICE', {
            vms: [vm.name],
            message: `Service VM "${vm.name}" puts a virtual device at ${vbdf}, where the board has ${native.name}.`,
          });
        }
      }
    }
    if (
      vm.loadOrder === 'PRE_LAUNCHED_VM' &&
      vm.mmioResources.p2sb &&
      plan.hv.hiddenPdevs.some((d) => sameBdf(d, '00:1f.1'))
    ) {
      ctx.report('P2SB_HIDDEN', {
        vms: [vm.name],
        message: `P2SB cannot be passed through to VM "${vm.name}" because 00:1f.1 is a hidden device.`,
      });
    }
    if (vm.loadOrder === 'POST_LAUNCHED_VM') {
      for (const vbdf of vbdfs.concat(
        plan.hv.vuartConnections
          .filter((c) => c.type !== 'pci')
          .flatMap((c) => c.endpoints.filter((e) => e.vmName === vm.name && e.vbdf).map((e) => e.vbdf!)),
      )) {
        const device = deviceNumber(vbdf);
        if (device !== undefined && (device < 0x03 || device > 0x1e)) {
          ctx.report('VBDF_RESERVED_FOR_POST_LAUNCHED_VM', {
            vms: [vm.name],
            message: `Post-launched VM "${vm.name}" uses virtual BDF ${vbdf}; its device number must be 03 to 1e.`,
          });
        }
      }
    }
  }
};

/** checks/passthrough_devices.xsd and checks/pci_config.xsd. */
export const passthroughChecks: Check = (ctx) => {
  const { plan, board } = ctx;
  for (const vm of plan.vms) {
    if (vm.mmioResources.tpm2 && vm.mmioResources.p2sb) {
      ctx.report('TPM2_AND_P2SB', {
        vms: [vm.name],
        message: `VM "${vm.name}" is given both TPM2 and P2SB, which ACRN does not support; remove one.`,
      });
    }
  }
  const assignments = plan.vms.flatMap((vm) =>
    vm.pciDevs.map((dev) => ({ vm: vm.name, bdf: dev.bdf.toLowerCase() })),
  );
  for (const [bdf, users] of groupBy(assignments, (a) => a.bdf)) {
    if (users.length > 1) {
      ctx.report('PCI_DEV_DUPLICATE', {
        vms: users.map((u) => u.vm),
        message: `PCI device ${bdf} is assigned more than once (VM ${list([...new Set(users.map((u) => `"${u.vm}"`))])}).`,
      });
    }
    if (!board.devices.some((d) => sameBdf(d.bdf, bdf))) {
      ctx.report('PCI_DEV_NOT_ON_BOARD', {
        vms: users.map((u) => u.vm),
        message: `PCI device ${bdf} passed through to VM ${list([...new Set(users.map((u) => `"${u.vm}"`))])} is not on board "${board.name}".`,
      });
    }
  }
};

/** checks/virtio_devices.xsd. */
export const virtioChecks: Check = (ctx) => {
  const { plan } = ctx;
  const cids = plan.vms.flatMap((vm) => vm.virtioDevices.vsock.map((cid) => ({ vm: vm.name, cid })));
  for (const [cid, users] of groupBy(cids, (c) => c.cid)) {
    if (users.length > 1) {
      ctx.report('VSOCK_CID_DUPLICATE', {
        vms: users.map((u) => u.vm),
        message: `vsock CID ${cid} is used more than once (VM ${list([...new Set(users.map((u) => `"${u.vm}"`))])}); CIDs must be unique.`,
      });
    }
  }
  const fullScreenMonitors: Array<{ vm: string; monitorId: number }> = [];
  for (const vm of plan.vms) {
    const gpu = vm.virtioDevices.gpu;
    if (!gpu) continue;
    if (gpu.displayType === 'Full screen') {
      if (gpu.displays.some((d) => d.monitorId === undefined)) {
        ctx.report('GPU_MONITOR_ID_MISSING', {
          vms: [vm.name],
          message: `VM "${vm.name}": a full-screen virtual display needs a monitor id.`,
        });
      }
      if (gpu.displays.length > 4) {
        ctx.report('GPU_TOO_MANY_DISPLAYS', {
          vms: [vm.name],
          message: `VM "${vm.name}" has ${gpu.displays.length} full-screen virtual displays; at most 4 are supported.`,
        });
      }
      for (const d of gpu.displays)
        if (d.monitorId !== undefined) fullScreenMonitors.push({ vm: vm.name, monitorId: d.monitorId });
    } else {
      if (gpu.displays.some((d) => !d.windowResolution)) {
        ctx.report('GPU_WINDOW_RESOLUTION_MISSING', {
          vms: [vm.name],
          message: `VM "${vm.name}": every window display needs a window resolution.`,
        });
      }
      if (gpu.displays.some((d) => d.horizontalOffset === undefined || d.verticalOffset === undefined)) {
        ctx.report('GPU_WINDOW_OFFSET_MISSING', {
          vms: [vm.name],
          message: `VM "${vm.name}": every window display needs a horizontal and a vertical offset.`,
        });
      }
      if (gpu.displays.length > 2) {
        ctx.report('GPU_TOO_MANY_DISPLAYS', {
          vms: [vm.name],
          message: `VM "${vm.name}" has ${gpu.displays.length} virtual windows; at most 2 are supported.`,
        });
      }
    }
  }
  for (const [monitorId, users] of groupBy(fullScreenMonitors, (m) => m.monitorId)) {
    if (users.length > 1) {
      ctx.report('GPU_MONITOR_ID_DUPLICATE', {
        vms: users.map((u) => u.vm),
        message: `Monitor ${monitorId} is used by ${users.length} full-screen displays; choose another monitor id.`,
      });
    }
  }
};
