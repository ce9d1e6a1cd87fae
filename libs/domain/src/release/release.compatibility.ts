/**
 * "What can this device take?": a release is offered to a device when it is published (not deprecated,
 * never yanked), is for the device's class and board, was built for the plan the device is to run, the
 * device's current versions are in the release's ranges, and every image's dependency is met by an image
 * of the release or, failing that, by what the device runs now.
 */
import type { ImageTarget } from './release.events';
import type { ReleaseState } from './release.decider';
import { describeTarget } from './release.decider';
import { describeRange, inRange, type VersionRange } from './release.version';

/** What the fleet inventory knows of a device. */
export interface DeviceFacts {
  readonly deviceId: string;
  readonly deviceClass: string | null;
  readonly boardName: string | null;
  readonly desiredPlan: { planId: string; revision: number } | null;
  readonly reportedPlan: { planId: string; revision: number } | null;
  readonly hypervisorVersion: string | null;
  readonly serviceVmOsVersion: string | null;
  readonly serviceVmKernelVersion: string | null;
}

export const INCOMPATIBILITY_CODES = [
  'RELEASE_NOT_OFFERED',
  'DEVICE_CLASS_NOT_COMPATIBLE',
  'BOARD_NOT_COMPATIBLE',
  'PLAN_NOT_COMPATIBLE',
  'CURRENT_VERSION_OUT_OF_RANGE',
  'DEPENDENCY_UNSATISFIED',
] as const;
export type IncompatibilityCode = (typeof INCOMPATIBILITY_CODES)[number];

export interface Incompatibility {
  readonly code: IncompatibilityCode;
  readonly message: string;
}

/** Every reason the release is not for the device; empty: offer it. */
export function incompatibilities(release: ReleaseState, device: DeviceFacts): Incompatibility[] {
  const out: Incompatibility[] = [];
  const add = (code: IncompatibilityCode, message: string) => out.push({ code, message });
  if (release.status !== 'published') {
    add(
      'RELEASE_NOT_OFFERED',
      `Release ${release.releaseId} is ${release.status}; only published releases are offered`,
    );
  }
  const { deviceClasses, boardNames, partitionPlan, currentVersions } = release.compatibility;
  if (deviceClasses.length > 0 && !deviceClasses.some((c) => c === device.deviceClass)) {
    add(
      'DEVICE_CLASS_NOT_COMPATIBLE',
      `Device ${device.deviceId} is a ${device.deviceClass ?? 'device of unknown class'}; the release is for ${deviceClasses.join(', ')}`,
    );
  }
  const boards = new Set(boardNames);
  for (const image of release.images) if (image.boardName) boards.add(image.boardName);
  if (boards.size > 0 && (device.boardName === null || !boards.has(device.boardName))) {
    add(
      'BOARD_NOT_COMPATIBLE',
      device.boardName === null
        ? `Device ${device.deviceId} has not reported its board; the release is for ${[...boards].join(', ')}`
        : `Device ${device.deviceId} is a "${device.boardName}" board; the release is for ${[...boards].join(', ')}`,
    );
  }
  const plans = [partitionPlan, ...release.images.map((i) => i.plan)].filter(
    (p): p is { planId: string; revision: number } => p !== null,
  );
  // The device's desired plan decides (the hypervisor must implement it); without one, what it runs.
  const devicePlan = device.desiredPlan ?? device.reportedPlan;
  for (const plan of plans) {
    if (!devicePlan || devicePlan.planId !== plan.planId || devicePlan.revision !== plan.revision) {
      add(
        'PLAN_NOT_COMPATIBLE',
        `The release is built for partition plan ${plan.planId} revision ${plan.revision}; device ${device.deviceId} ` +
          (devicePlan
            ? `is to run ${devicePlan.planId} revision ${devicePlan.revision}`
            : 'has no partition plan'),
      );
      break;
    }
  }
  const current: [string, string | null, VersionRange | undefined][] = [
    ['hypervisor', device.hypervisorVersion, currentVersions.hypervisor],
    ['Service VM OS image', device.serviceVmOsVersion, currentVersions.serviceVmOs],
    ['Service VM kernel', device.serviceVmKernelVersion, currentVersions.serviceVmKernel],
  ];
  for (const [what, version, range] of current) {
    if (range && (version === null || !inRange(version, range))) {
      add(
        'CURRENT_VERSION_OUT_OF_RANGE',
        `The release needs a current ${what} ${describeRange(range)}; device ${device.deviceId} runs ${version ?? 'an unknown version'}`,
      );
    }
  }
  for (const image of release.images) {
    for (const dep of image.depends) {
      const provider = release.images.find(
        (i) => i.target === dep.target && (dep.vmName === undefined || i.vmName === dep.vmName),
      );
      const version = provider ? provider.version : currentVersionOf(device, dep.target);
      if (version === null || !inRange(version, dep)) {
        add(
          'DEPENDENCY_UNSATISFIED',
          `Image ${image.imageId} needs ${describeTarget(dep.target, dep.vmName ?? null)} ${describeRange(dep)}; ` +
            `${provider ? `the release brings ${version}` : `device ${device.deviceId} runs ${version ?? 'an unknown version'}`}`,
        );
      }
    }
  }
  return out;
}

function currentVersionOf(device: DeviceFacts, target: ImageTarget): string | null {
  switch (target) {
    case 'hypervisor':
      return device.hypervisorVersion;
    case 'service-vm-os':
      return device.serviceVmOsVersion;
    case 'service-vm-kernel':
      return device.serviceVmKernelVersion;
    case 'rt-vm':
      return null; // RT VM image versions are not in the inventory yet
  }
}
