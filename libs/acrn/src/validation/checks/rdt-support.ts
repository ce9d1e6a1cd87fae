import { boardClosCapacity, findCache } from '../../board/board';
import { parseHex, toHex } from '../../scenario/plan';
import { allocateClos, vcpuCount } from '../../scenario/static-allocation';
import { list, type Check } from '../context';

/** Start of the guest PCI hole a pre-launched RTVM's Software SRAM must avoid, and the end of the hole. */
const PCI_HOLE_START = 0x80000000;
const PCI_HOLE_END = 0xf8000000;

/** A CAT capacity bitmask must be a single run of 1-bits (Intel SDM 17.19.4.1). */
export function isContiguousMask(mask: number): boolean {
  if (!Number.isInteger(mask) || mask <= 0) return false;
  let rest = mask;
  while (rest % 2 === 0) rest /= 2;
  while (rest % 2 === 1) rest = (rest - 1) / 2;
  return rest === 0;
}

/** Bitwise AND without JavaScript's 32-bit signed truncation. */
export function maskAnd(a: number, b: number): number {
  return Number(BigInt(a) & BigInt(b));
}

/** checks/rdt_support.xsd, the CLOS count of static_allocators/clos.py, and CAT mask hygiene. */
export const rdtSupportChecks: Check = (ctx) => {
  const { plan, board } = ctx;
  const { rdtEnabled, cdpEnabled, vcatEnabled } = plan.hv.rdt;
  const l2l3 = board.caches;

  if (vcatEnabled && (cdpEnabled || !rdtEnabled)) {
    ctx.report('VCAT_REQUIRES_RDT_WITHOUT_CDP', {
      message: 'Virtual CAT (VCAT_ENABLED) may be enabled only with RDT_ENABLED=y and CDP_ENABLED=n.',
    });
  }
  if (rdtEnabled && cdpEnabled) {
    const without = l2l3.filter((c) => !c.cat?.cdp);
    if (without.length > 0) {
      ctx.report('CDP_UNSUPPORTED_BY_CACHES', {
        message:
          'Code and Data Prioritization needs CDP on every L2 and L3 cache, but ' +
          `${list(without.map((c) => `L${c.level} cache ${toHex(c.id)}`))} do not report it.`,
      });
    }
  }
  const vcatVms = plan.vms.filter((vm) => vm.virtualCatSupport);
  if (vcatVms.length > 0 && !(rdtEnabled && vcatEnabled)) {
    ctx.report('VM_VCAT_REQUIRES_HV_VCAT', {
      vms: vcatVms.map((vm) => vm.name),
      message:
        `VM ${list(vcatVms.map((v) => `"${v.name}"`))} asks for virtual CAT, which needs ` +
        'RDT_ENABLED=y and VCAT_ENABLED=y in the hypervisor.',
    });
  }
  const nested = plan.vms.some((vm) => vm.nestedVirtualization);
  for (const vm of plan.vms) {
    if (vm.loadOrder === 'SERVICE_VM' && vm.lapicPassthrough && !nested) {
      ctx.report('SERVICE_VM_LAPIC_PASSTHROUGH', {
        vms: [vm.name],
        message: `The Service VM "${vm.name}" may not use LAPIC passthrough unless nested virtualization is enabled.`,
      });
    }
  }
  const preRt = plan.vms.filter((vm) => vm.loadOrder === 'PRE_LAUNCHED_VM' && vm.vmType === 'RTVM');
  if (preRt.length > 0) {
    for (const cache of l2l3.filter((c) => c.level === 3 && c.softwareSram)) {
      const ssram = cache.softwareSram!;
      if (!(ssram.end < PCI_HOLE_START || ssram.start >= PCI_HOLE_END)) {
        ctx.report('SSRAM_OVERLAPS_PRE_LAUNCHED_RTVM_HOLE', {
          vms: preRt.map((vm) => vm.name),
          message:
            `Software SRAM ${toHex(ssram.start)}-${toHex(ssram.end)} of L3 cache ${toHex(cache.id)} overlaps the ` +
            'guest PCI hole (2 GB to 0xf8000000) of the pre-launched RTVM it is mapped into; this needs a ' +
            'different board firmware layout, not a configuration change.',
        });
      }
    }
  }

  const capacity = boardClosCapacity(board);
  if (rdtEnabled && capacity === undefined) {
    ctx.report('RDT_WITHOUT_BOARD_CAT', {
      message: `RDT_ENABLED is set, but board "${board.name}" reports no cache with CAT, so it has no effect.`,
    });
  }
  const withPolicies = plan.hv.cacheAllocations.filter((a) => a.policies.length > 0);
  if (!rdtEnabled && withPolicies.length > 0) {
    ctx.report('CACHE_ALLOCATION_WITHOUT_RDT', {
      message: 'Cache allocation policies are set but RDT_ENABLED=n, so no CLOS mask will be programmed.',
    });
  }

  const allocation = allocateClos(plan);
  if (capacity !== undefined && !(allocation.closNeeded < capacity)) {
    ctx.report('CLOS_EXCEEDS_BOARD', {
      vms: [...new Set(allocation.entries.flatMap((e) => e.owners.map((o) => o.vm)))],
      message:
        `The cache policies need ${allocation.closNeeded} CLOS ids (distinct masks need distinct CLOS), ` +
        `but board "${board.name}" has clos_number ${capacity} and ACRN needs the count to stay below it.`,
    });
  }

  for (const cacheAllocation of plan.hv.cacheAllocations) {
    const level = cacheAllocation.cacheLevel;
    const label = `L${level} cache ${toHex(cacheAllocation.cacheId)}`;
    const cache = findCache(board, level, cacheAllocation.cacheId);
    if (!cache?.cat) {
      ctx.report('CACHE_NOT_ON_BOARD', {
        vms: cacheAllocation.policies.map((p) => p.vm),
        message: cache
          ? `${label} on board "${board.name}" has no CAT capability, so it cannot take CLOS masks.`
          : `Board "${board.name}" has no ${label}.`,
      });
    }
    for (const policy of cacheAllocation.policies) {
      const mask = parseHex(policy.closMask);
      const who = `VM "${policy.vm}" vCPU ${policy.vcpu} (${policy.type})`;
      if (!isContiguousMask(mask)) {
        ctx.report('CAT_MASK_NOT_CONTIGUOUS', {
          vms: [policy.vm],
          message:
            `CLOS mask ${policy.closMask} of ${who} on ${label} must be one run of contiguous 1-bits; ` +
            'the processor rejects other masks with #GP.',
        });
      }
      if (cache?.cat && mask >= 2 ** cache.cat.capacityMaskLength) {
        ctx.report('CLOS_MASK_TOO_WIDE', {
          vms: [policy.vm],
          message: `CLOS mask ${policy.closMask} of ${who} is wider than the ${cache.cat.capacityMaskLength}-bit mask of ${label}.`,
        });
      }
      const waymask = cache?.softwareSram?.waymask;
      if (waymask !== undefined && maskAnd(mask, waymask) !== 0) {
        ctx.report('CLOS_MASK_OVERLAPS_SSRAM', {
          vms: [policy.vm],
          message:
            `${who} cannot use ways ${toHex(maskAnd(mask, waymask))} of ${label}: Software SRAM holds ` +
            `${toHex(waymask)} there.`,
        });
      }
      const vm = ctx.vmByName.get(policy.vm);
      if (vm) {
        const vcpus = vcpuCount(plan, board, vm);
        if (policy.vcpu >= vcpus) {
          ctx.report('POLICY_VCPU_OUT_OF_RANGE', {
            vms: [vm.name],
            message: `The ${label} policy names vCPU ${policy.vcpu} of VM "${vm.name}", which has ${vcpus} vCPU(s).`,
          });
        }
      }
    }
    const owners = new Map<string, Set<string>>();
    for (const policy of cacheAllocation.policies) {
      const key = `${policy.vm}\u0000${policy.vcpu}`;
      owners.set(key, (owners.get(key) ?? new Set()).add(policy.type));
    }
    for (const [key, types] of owners) {
      const [vm, vcpu] = key.split('\u0000');
      const ok = cdpEnabled
        ? types.size === 2 && types.has('Code') && types.has('Data')
        : types.size === 1 && types.has('Unified');
      if (!ok) {
        ctx.report('POLICY_TYPE_MISMATCH', {
          vms: [vm],
          message: cdpEnabled
            ? `With CDP enabled, VM "${vm}" vCPU ${vcpu} needs one Code and one Data policy on ${label}, not ${list([...types])}.`
            : `Without CDP, VM "${vm}" vCPU ${vcpu} takes one Unified policy on ${label}, not ${list([...types])}.`,
        });
      }
    }
  }
};
