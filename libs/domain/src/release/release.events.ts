import type { DeviceClass, PlanRef } from '../hypervisor/hypervisor.events';
import { eventFactory, type DomainEvent } from '../shared/event';
import type { VersionRange } from './release.version';

/** What an image is installed as on the device. */
export const IMAGE_TARGETS = ['hypervisor', 'service-vm-os', 'service-vm-kernel', 'rt-vm'] as const;
export type ImageTarget = (typeof IMAGE_TARGETS)[number];

export const RELEASE_STATUSES = ['draft', 'published', 'deprecated', 'yanked'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** The versions a device must run now to take the release (each range optional). */
export interface CurrentVersionRanges {
  readonly hypervisor?: VersionRange;
  readonly serviceVmOs?: VersionRange;
  readonly serviceVmKernel?: VersionRange;
}

/** Which devices a release is for. Empty lists mean "any". */
export interface ReleaseCompatibility {
  readonly deviceClasses: DeviceClass[];
  readonly boardNames: string[];
  /** The partition plan revision the release was built for (its hypervisor binary implements it). */
  readonly partitionPlan: PlanRef | null;
  readonly currentVersions: CurrentVersionRanges;
}

/** An image needs another target at a version in a range (e.g. an RT VM image needing hypervisor ≥ 3.2). */
export interface ImageDependency {
  readonly target: ImageTarget;
  /** For an `rt-vm` target: which RT VM. */
  readonly vmName?: string;
  readonly min?: string;
  readonly max?: string;
}

/** An image's metadata as declared by its author; the bytes are uploaded separately and must match. */
export interface ReleaseImageSpec {
  readonly imageId: string;
  readonly target: ImageTarget;
  /** `rt-vm` images: the ACRN VM name the image is for. */
  readonly vmName: string | null;
  /** `hypervisor` images: the board the binary was built for and the plan revision compiled into it. */
  readonly boardName: string | null;
  readonly plan: PlanRef | null;
  readonly fileName: string;
  readonly mediaType: string;
  readonly version: string;
  readonly length: number;
  /** Lowercase hex. */
  readonly sha256: string;
  readonly sha512: string;
  readonly depends: ImageDependency[];
  /** Capabilities the image provides (name → value), e.g. `{ "rtvm-abi": "2" }`. */
  readonly provides: Record<string, string>;
}

export type ReleaseDrafted = DomainEvent<
  'ReleaseDrafted',
  {
    releaseId: string;
    name: string;
    version: string;
    description: string;
    compatibility: ReleaseCompatibility;
    at: string;
  }
>;
export type ReleaseImageAdded = DomainEvent<
  'ReleaseImageAdded',
  { releaseId: string; image: ReleaseImageSpec; at: string }
>;
/** The image's bytes are in the artifact store and their hashes and length are the declared ones. */
export type ReleaseImageUploaded = DomainEvent<
  'ReleaseImageUploaded',
  { releaseId: string; imageId: string; sha256: string; length: number; at: string }
>;
export type ReleasePublished = DomainEvent<'ReleasePublished', { releaseId: string; at: string }>;
export type ReleaseDeprecated = DomainEvent<
  'ReleaseDeprecated',
  { releaseId: string; reason: string; at: string }
>;
/** Never offered again; rollouts that use it stop. */
export type ReleaseYanked = DomainEvent<
  'ReleaseYanked',
  { releaseId: string; reason: string; previousStatus: 'published' | 'deprecated'; at: string }
>;

export type ReleaseEvent =
  | ReleaseDrafted
  | ReleaseImageAdded
  | ReleaseImageUploaded
  | ReleasePublished
  | ReleaseDeprecated
  | ReleaseYanked;

export const RELEASE_EVENT_SCHEMA_VERSIONS: { readonly [K in ReleaseEvent['type']]: number } = {
  ReleaseDrafted: 1,
  ReleaseImageAdded: 1,
  ReleaseImageUploaded: 1,
  ReleasePublished: 1,
  ReleaseDeprecated: 1,
  ReleaseYanked: 1,
};

export const releaseEvent = eventFactory<ReleaseEvent>(RELEASE_EVENT_SCHEMA_VERSIONS);

export const releaseStreamId = (releaseId: string) => `release-${releaseId}`;
