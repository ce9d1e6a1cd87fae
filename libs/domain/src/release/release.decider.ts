/**
 * Release (stream `release-<id>`): a name and version, the images it installs (hypervisor, Service VM
 * OS image and kernel, RT VM images) and the devices it is for.
 *
 * Lifecycle: draft → published → deprecated; yanked from published or deprecated (never offered again).
 * Only a draft changes; a published release is immutable, so what a device was offered stays what it gets.
 *
 * Invariants (what would brick a device is refused):
 * - versions are semver-ish (INVALID_RELEASE_VERSION);
 * - the partition plan revision the release names exists (PARTITION_PLAN_NOT_FOUND,
 *   PARTITION_PLAN_REVISION_NOT_FOUND), still passes the plan schema (INVALID_PARTITION_PLAN) and is for
 *   the release's device classes and boards (RELEASE_PLAN_MISMATCH);
 * - a hypervisor image is for the board its plan was made for (HYPERVISOR_BOARD_MISMATCH) and for the
 *   release's plan (RELEASE_PLAN_MISMATCH); an RT VM image names a VM of that plan (RTVM_NOT_IN_PLAN);
 * - one image per target (RELEASE_IMAGE_TARGET_TAKEN);
 * - an upload is recorded only with the declared length and hashes (IMAGE_HASH_MISMATCH,
 *   IMAGE_LENGTH_MISMATCH); publishing needs every image uploaded (IMAGE_UPLOAD_MISSING) and every
 *   dependency on an image of the same release satisfied (IMAGE_DEPENDENCY_UNSATISFIED).
 */
import { parsePartitionPlan } from '@hyperfleet/acrn';
import { DEVICE_CLASSES, type DeviceClass, type PlanRef } from '../hypervisor/hypervisor.events';
import {
  planRevision,
  latestRevision,
  type PartitionPlanState,
} from '../partition-plan/partition-plan.decider';
import type { DecideContext, Decider, Decision } from '../shared/decider';
import { reject, type DomainRejection } from '../shared/rejection';
import { PLAN_ID_PATTERN, VM_NAME_PATTERN, fields, type FieldErrors } from '../shared/validation';
import type { AddReleaseImage, DraftRelease, ReleaseCommand } from './release.commands';
import {
  IMAGE_TARGETS,
  RELEASE_EVENT_SCHEMA_VERSIONS,
  releaseEvent,
  type CurrentVersionRanges,
  type ImageDependency,
  type ImageTarget,
  type ReleaseCompatibility,
  type ReleaseEvent,
  type ReleaseImageSpec,
  type ReleaseStatus,
} from './release.events';
import { describeRange, inRange, isVersion, type VersionRange } from './release.version';

/** Release and image ids: like plan ids. */
export const RELEASE_ID_PATTERN = PLAN_ID_PATTERN;
export const IMAGE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SHA512 = /^[0-9a-f]{128}$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
const FILE_NAME = /^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$/;
/** Largest image length accepted in metadata (the store's own limit applies on upload). */
export const MAX_IMAGE_LENGTH = Number.MAX_SAFE_INTEGER;

export interface ReleaseImage extends ReleaseImageSpec {
  readonly uploadedAt: string | null;
}

export interface ReleaseState {
  readonly exists: boolean;
  readonly releaseId: string | null;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly status: ReleaseStatus | null;
  readonly compatibility: ReleaseCompatibility;
  readonly images: readonly ReleaseImage[];
  readonly draftedAt: string | null;
  readonly publishedAt: string | null;
  readonly deprecatedAt: string | null;
  readonly deprecationReason: string | null;
  readonly yankedAt: string | null;
  readonly yankReason: string | null;
}

/** Plans the decision reads, by plan id (the handler loads every plan the command or the release names). */
export type ReleaseContext = { readonly plans?: Readonly<Record<string, PartitionPlanState>> };

export function initialReleaseState(): ReleaseState {
  return {
    exists: false,
    releaseId: null,
    name: '',
    version: '',
    description: '',
    status: null,
    compatibility: { deviceClasses: [], boardNames: [], partitionPlan: null, currentVersions: {} },
    images: [],
    draftedAt: null,
    publishedAt: null,
    deprecatedAt: null,
    deprecationReason: null,
    yankedAt: null,
    yankReason: null,
  };
}

export function evolveRelease(state: ReleaseState, event: ReleaseEvent): ReleaseState {
  switch (event.type) {
    case 'ReleaseDrafted': {
      const { releaseId, name, version, description, compatibility, at } = event.data;
      return {
        ...state,
        exists: true,
        releaseId,
        name,
        version,
        description,
        compatibility,
        status: 'draft',
        draftedAt: at,
      };
    }
    case 'ReleaseImageAdded':
      return { ...state, images: [...state.images, { ...event.data.image, uploadedAt: null }] };
    case 'ReleaseImageUploaded':
      return {
        ...state,
        images: state.images.map((image) =>
          image.imageId === event.data.imageId ? { ...image, uploadedAt: event.data.at } : image,
        ),
      };
    case 'ReleasePublished':
      return { ...state, status: 'published', publishedAt: event.data.at };
    case 'ReleaseDeprecated':
      return {
        ...state,
        status: 'deprecated',
        deprecatedAt: event.data.at,
        deprecationReason: event.data.reason,
      };
    case 'ReleaseYanked':
      return { ...state, status: 'yanked', yankedAt: event.data.at, yankReason: event.data.reason };
    default:
      return state;
  }
}

/** The plan ids a command's decision reads (the handler loads them into the context). */
export function plansReadBy(command: ReleaseCommand, state: ReleaseState): string[] {
  const ids = new Set<string>();
  if (command.type === 'DraftRelease') {
    const planId = command.props.compatibility?.partitionPlan?.planId;
    if (typeof planId === 'string') ids.add(planId);
  }
  if (command.type === 'AddReleaseImage') {
    if (typeof command.props.plan?.planId === 'string') ids.add(command.props.plan.planId);
    if (state.compatibility.partitionPlan) ids.add(state.compatibility.partitionPlan.planId);
  }
  return [...ids].filter((id) => PLAN_ID_PATTERN.test(id));
}

export function decideRelease(
  command: ReleaseCommand,
  state: ReleaseState,
  context: DecideContext<ReleaseContext>,
): Decision<ReleaseEvent> {
  const { releaseId } = command.props;
  const shape = fields().pattern(releaseId, RELEASE_ID_PATTERN, 'releaseId', 'a release id');
  const { now } = context;

  if (command.type === 'DraftRelease') return decideDraft(command, state, context, shape);

  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;
  if (!state.exists) return notFound(releaseId);

  switch (command.type) {
    case 'AddReleaseImage':
      return decideAddImage(command, state, context);

    case 'RecordReleaseImageUpload': {
      const { imageId, length, sha256, sha512 } = command.props;
      const image = state.images.find((i) => i.imageId === imageId);
      if (!image) return imageNotFound(releaseId, imageId);
      if (length !== image.length) {
        return reject(
          'IMAGE_LENGTH_MISMATCH',
          `The upload of image ${imageId} is ${length} bytes; ${image.length} were declared`,
          { releaseId, imageId, declared: image.length, uploaded: length },
        );
      }
      if (sha256 !== image.sha256 || sha512 !== image.sha512) {
        return reject(
          'IMAGE_HASH_MISMATCH',
          `The upload of image ${imageId} does not have the declared ${sha256 !== image.sha256 ? 'sha256' : 'sha512'}`,
          { releaseId, imageId, declaredSha256: image.sha256, uploadedSha256: sha256 },
        );
      }
      if (image.uploadedAt !== null) return []; // the same bytes again
      const notDraft = requireDraft(state, 'upload an image of');
      if (notDraft) return notDraft;
      return [releaseEvent('ReleaseImageUploaded', { releaseId, imageId, sha256, length, at: now })];
    }

    case 'PublishRelease': {
      if (state.status === 'published') return [];
      const notDraft = requireDraft(state, 'publish');
      if (notDraft) return notDraft;
      if (state.images.length === 0) {
        return reject('RELEASE_HAS_NO_IMAGES', `Release ${releaseId} has no images to publish`, {
          releaseId,
        });
      }
      const missing = state.images.filter((i) => i.uploadedAt === null).map((i) => i.imageId);
      if (missing.length > 0) {
        return reject(
          'IMAGE_UPLOAD_MISSING',
          `Release ${releaseId} cannot be published: image(s) ${missing.join(', ')} not uploaded`,
          { releaseId, imageIds: missing },
        );
      }
      const unmet = unmetDependencies(state.images);
      if (unmet.length > 0) {
        return reject(
          'IMAGE_DEPENDENCY_UNSATISFIED',
          `Release ${releaseId} cannot be published: ${unmet.map((u) => u.message).join('; ')}`,
          { releaseId, unmet: unmet.map(({ imageId, dependency }) => ({ imageId, ...dependency })) },
        );
      }
      return [releaseEvent('ReleasePublished', { releaseId, at: now })];
    }

    case 'DeprecateRelease': {
      const reason = command.props.reason ?? '';
      const bad = fields()
        .check(
          typeof reason === 'string' && reason.length <= 2000,
          'reason',
          'must be at most 2000 characters',
        )
        .rejection(command.type);
      if (bad) return bad;
      if (state.status === 'deprecated') return [];
      if (state.status === 'yanked') return yanked(releaseId);
      if (state.status !== 'published') return notPublished(releaseId, 'deprecate');
      return [releaseEvent('ReleaseDeprecated', { releaseId, reason, at: now })];
    }

    case 'YankRelease': {
      const bad = fields().nonEmptyString(command.props.reason, 'reason', 2000).rejection(command.type);
      if (bad) return bad;
      if (state.status === 'yanked') return [];
      if (state.status !== 'published' && state.status !== 'deprecated') {
        return notPublished(releaseId, 'yank');
      }
      return [
        releaseEvent('ReleaseYanked', {
          releaseId,
          reason: command.props.reason,
          previousStatus: state.status,
          at: now,
        }),
      ];
    }
  }
}

function decideDraft(
  command: DraftRelease,
  state: ReleaseState,
  { now, plans }: DecideContext<ReleaseContext>,
  shape: FieldErrors,
): Decision<ReleaseEvent> {
  const { releaseId, name, version, description } = command.props;
  const compat = command.props.compatibility ?? {};
  shape.nonEmptyString(name, 'name', 200);
  if (description !== undefined) {
    shape.check(
      typeof description === 'string' && description.length <= 2000,
      'description',
      'must be a string of at most 2000 characters',
    );
  }
  const deviceClasses = compat.deviceClasses ?? [];
  const boardNames = compat.boardNames ?? [];
  shape.check(Array.isArray(deviceClasses), 'compatibility.deviceClasses', 'must be a list');
  shape.check(Array.isArray(boardNames), 'compatibility.boardNames', 'must be a list');
  if (Array.isArray(deviceClasses)) {
    deviceClasses.forEach((c, i) => shape.oneOf(c, DEVICE_CLASSES, `compatibility.deviceClasses[${i}]`));
  }
  if (Array.isArray(boardNames)) {
    boardNames.forEach((b, i) => shape.nonEmptyString(b, `compatibility.boardNames[${i}]`, 128));
  }
  const planRef = compat.partitionPlan ?? null;
  if (planRef !== null) checkPlanRef(shape, planRef, 'compatibility.partitionPlan');
  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;

  const versions = checkVersions([
    ['version', version],
    ...rangeVersions('compatibility.currentVersions.hypervisor', compat.currentVersions?.hypervisor),
    ...rangeVersions('compatibility.currentVersions.serviceVmOs', compat.currentVersions?.serviceVmOs),
    ...rangeVersions(
      'compatibility.currentVersions.serviceVmKernel',
      compat.currentVersions?.serviceVmKernel,
    ),
  ]);
  if (versions) return versions;

  if (state.exists) {
    return reject('RELEASE_ALREADY_EXISTS', `Release ${releaseId} already exists`, {
      releaseId,
      status: state.status,
    });
  }

  if (planRef !== null) {
    const problem = checkPlan(planRef, plans, (plan, content) => {
      const classes = deviceClasses as DeviceClass[];
      if (classes.length > 0 && (plan.deviceClass === null || !classes.includes(plan.deviceClass))) {
        return reject(
          'RELEASE_PLAN_MISMATCH',
          `Partition plan ${planRef.planId} is for ${plan.deviceClass} devices, not for ${classes.join(', ')}`,
          { planId: planRef.planId, planDeviceClass: plan.deviceClass, deviceClasses: classes },
        );
      }
      if (boardNames.length > 0 && !boardNames.includes(content.board)) {
        return reject(
          'RELEASE_PLAN_MISMATCH',
          `Partition plan ${planRef.planId} revision ${planRef.revision} is for board "${content.board}", not for ${boardNames.join(', ')}`,
          { planId: planRef.planId, revision: planRef.revision, planBoard: content.board, boardNames },
        );
      }
      return undefined;
    });
    if (problem) return problem;
  }

  const currentVersions: CurrentVersionRanges = {
    ...(compat.currentVersions?.hypervisor ? { hypervisor: range(compat.currentVersions.hypervisor) } : {}),
    ...(compat.currentVersions?.serviceVmOs
      ? { serviceVmOs: range(compat.currentVersions.serviceVmOs) }
      : {}),
    ...(compat.currentVersions?.serviceVmKernel
      ? { serviceVmKernel: range(compat.currentVersions.serviceVmKernel) }
      : {}),
  };
  return [
    releaseEvent('ReleaseDrafted', {
      releaseId,
      name: name.trim(),
      version,
      description: description ?? '',
      compatibility: {
        deviceClasses: [...new Set(deviceClasses as DeviceClass[])],
        boardNames: [...new Set(boardNames)],
        partitionPlan: planRef ? { planId: planRef.planId, revision: planRef.revision } : null,
        currentVersions,
      },
      at: now,
    }),
  ];
}

function decideAddImage(
  command: AddReleaseImage,
  state: ReleaseState,
  { now, plans }: DecideContext<ReleaseContext>,
): Decision<ReleaseEvent> {
  const p = command.props;
  const releaseId = p.releaseId;
  const shape = fields()
    .pattern(p.imageId, IMAGE_ID_PATTERN, 'imageId', 'an image id (1-64 of letters, digits, ".", "_", "-")')
    .oneOf(p.target, IMAGE_TARGETS, 'target')
    .check(
      Number.isSafeInteger(p.length) && p.length >= 0 && p.length <= MAX_IMAGE_LENGTH,
      'length',
      'must be a whole number of bytes ≥ 0',
    )
    .pattern(p.sha256, SHA256, 'sha256', '64 lowercase hex digits')
    .pattern(p.sha512, SHA512, 'sha512', '128 lowercase hex digits');
  if (p.mediaType !== undefined) shape.pattern(p.mediaType, MEDIA_TYPE, 'mediaType', 'a media type');
  if (p.fileName !== undefined) shape.pattern(p.fileName, FILE_NAME, 'fileName', 'a file name without "/"');
  const target = p.target as ImageTarget;
  if (target === 'rt-vm') {
    shape.pattern(p.vmName, VM_NAME_PATTERN, 'vmName', 'an ACRN VM name (1-15 of [a-zA-Z0-9_-])');
  } else {
    shape.check(p.vmName === undefined, 'vmName', 'is for rt-vm images only');
  }
  if (target === 'hypervisor') {
    shape.nonEmptyString(p.boardName, 'boardName', 128);
    if (p.plan === undefined)
      shape.add('plan', 'is required for a hypervisor image (the plan compiled into it)');
    else checkPlanRef(shape, p.plan, 'plan');
  } else {
    shape.check(p.boardName === undefined, 'boardName', 'is for hypervisor images only');
    shape.check(p.plan === undefined, 'plan', 'is for hypervisor images only');
  }
  const depends = p.depends ?? [];
  const provides = p.provides ?? {};
  if (!Array.isArray(depends)) shape.add('depends', 'must be a list');
  else {
    depends.forEach((d, i) => {
      shape.oneOf(d?.target, IMAGE_TARGETS, `depends[${i}].target`);
      if (d?.vmName !== undefined)
        shape.pattern(d.vmName, VM_NAME_PATTERN, `depends[${i}].vmName`, 'a VM name');
      shape.check(d?.min !== undefined || d?.max !== undefined, `depends[${i}]`, 'needs min or max');
    });
  }
  shape.check(
    typeof provides === 'object' &&
      provides !== null &&
      !Array.isArray(provides) &&
      Object.entries(provides).every(
        ([k, v]) => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(k) && typeof v === 'string' && v.length <= 200,
      ),
    'provides',
    'must map capability names (lowercase) to strings',
  );
  const invalid = shape.rejection(command.type);
  if (invalid) return invalid;
  const versions = checkVersions([
    ['version', p.version],
    ...depends.flatMap((d, i) => rangeVersions(`depends[${i}]`, d)),
  ]);
  if (versions) return versions;

  const existing = state.images.find((i) => i.imageId === p.imageId);
  const image: ReleaseImageSpec = {
    imageId: p.imageId,
    target,
    vmName: target === 'rt-vm' ? (p.vmName as string) : null,
    boardName: target === 'hypervisor' ? (p.boardName as string) : null,
    plan: target === 'hypervisor' && p.plan ? { planId: p.plan.planId, revision: p.plan.revision } : null,
    fileName: p.fileName ?? defaultFileName(target, p.imageId),
    mediaType: p.mediaType ?? 'application/octet-stream',
    version: p.version,
    length: p.length,
    sha256: p.sha256,
    sha512: p.sha512,
    depends: depends.map((d) => ({
      target: d.target as ImageTarget,
      ...(d.vmName !== undefined ? { vmName: d.vmName } : {}),
      ...(d.min !== undefined ? { min: d.min } : {}),
      ...(d.max !== undefined ? { max: d.max } : {}),
    })),
    provides: { ...provides },
  };
  if (existing) {
    const { uploadedAt: _uploaded, ...spec } = existing;
    if (JSON.stringify(spec) === JSON.stringify(image)) return []; // the same declaration again
    return reject('RELEASE_IMAGE_ALREADY_EXISTS', `Release ${releaseId} already has an image ${p.imageId}`, {
      releaseId,
      imageId: p.imageId,
    });
  }
  const notDraft = requireDraft(state, 'add an image to');
  if (notDraft) return notDraft;

  const taken = state.images.find((i) => i.target === target && i.vmName === image.vmName);
  if (taken) {
    return reject(
      'RELEASE_IMAGE_TARGET_TAKEN',
      `Release ${releaseId} already has image ${taken.imageId} for ${describeTarget(target, image.vmName)}`,
      { releaseId, imageId: taken.imageId, target, vmName: image.vmName },
    );
  }

  const releasePlan = state.compatibility.partitionPlan;
  if (target === 'hypervisor' && image.plan) {
    const imagePlan = image.plan;
    if (
      releasePlan &&
      (releasePlan.planId !== imagePlan.planId || releasePlan.revision !== imagePlan.revision)
    ) {
      return reject(
        'RELEASE_PLAN_MISMATCH',
        `Hypervisor image ${p.imageId} is built for plan ${imagePlan.planId} revision ${imagePlan.revision}; ` +
          `release ${releaseId} is for ${releasePlan.planId} revision ${releasePlan.revision}`,
        { releaseId, imagePlan: { ...imagePlan }, releasePlan: { ...releasePlan } },
      );
    }
    const boards = state.compatibility.boardNames;
    const problem = checkPlan(imagePlan, plans, (plan, content) => {
      if (content.board !== image.boardName) {
        return reject(
          'HYPERVISOR_BOARD_MISMATCH',
          `Hypervisor image ${p.imageId} is built for board "${image.boardName}", but partition plan ` +
            `${imagePlan.planId} revision ${imagePlan.revision} is for board "${content.board}"`,
          { releaseId, imageId: p.imageId, boardName: image.boardName, planBoard: content.board },
        );
      }
      if (boards.length > 0 && !boards.includes(content.board)) {
        return reject(
          'HYPERVISOR_BOARD_MISMATCH',
          `Hypervisor image ${p.imageId} is for board "${content.board}"; release ${releaseId} is for ${boards.join(', ')}`,
          { releaseId, imageId: p.imageId, boardName: content.board, boardNames: boards },
        );
      }
      const classes = state.compatibility.deviceClasses;
      if (classes.length > 0 && (plan.deviceClass === null || !classes.includes(plan.deviceClass))) {
        return reject(
          'RELEASE_PLAN_MISMATCH',
          `Partition plan ${imagePlan.planId} is for ${plan.deviceClass} devices; release ${releaseId} is for ${classes.join(', ')}`,
          { releaseId, planDeviceClass: plan.deviceClass, deviceClasses: classes },
        );
      }
      return undefined;
    });
    if (problem) return problem;
  }
  const planForVms = target === 'hypervisor' ? image.plan : releasePlan;
  if (target === 'rt-vm' && planForVms) {
    const problem = checkPlan(planForVms, plans, (_plan, content) => {
      const vm = content.vms.find((v) => v.name === image.vmName);
      if (!vm || vm.vmType !== 'RTVM') {
        return reject(
          'RTVM_NOT_IN_PLAN',
          `Partition plan ${planForVms.planId} revision ${planForVms.revision} has no RTVM named ${image.vmName}`,
          { releaseId, imageId: p.imageId, vmName: image.vmName, planId: planForVms.planId },
        );
      }
      return undefined;
    });
    if (problem) return problem;
  }
  return [releaseEvent('ReleaseImageAdded', { releaseId, image, at: now })];
}

/** Dependencies on a target of the same release that its image does not satisfy. */
export function unmetDependencies(
  images: readonly ReleaseImageSpec[],
): { imageId: string; dependency: ImageDependency; message: string }[] {
  const unmet: { imageId: string; dependency: ImageDependency; message: string }[] = [];
  for (const image of images) {
    for (const dependency of image.depends) {
      const provider = images.find(
        (i) =>
          i.target === dependency.target &&
          (dependency.vmName === undefined || i.vmName === dependency.vmName),
      );
      if (provider && !inRange(provider.version, dependency)) {
        unmet.push({
          imageId: image.imageId,
          dependency,
          message: `image ${image.imageId} needs ${describeTarget(dependency.target, dependency.vmName ?? null)} ${describeRange(dependency)}, but image ${provider.imageId} is ${provider.version}`,
        });
      }
    }
  }
  return unmet;
}

export function describeTarget(target: ImageTarget, vmName: string | null): string {
  switch (target) {
    case 'hypervisor':
      return 'the hypervisor';
    case 'service-vm-os':
      return 'the Service VM OS image';
    case 'service-vm-kernel':
      return 'the Service VM kernel';
    case 'rt-vm':
      return vmName ? `RT VM ${vmName}` : 'an RT VM';
  }
}

function defaultFileName(target: ImageTarget, imageId: string): string {
  return target === 'hypervisor' ? 'acrn.bin' : `${imageId}.img`;
}

function checkPlanRef(shape: FieldErrors, ref: unknown, field: string): void {
  const r = ref as Partial<PlanRef> | null;
  shape.check(typeof r === 'object' && r !== null, field, 'must be { planId, revision }');
  if (typeof r !== 'object' || r === null) return;
  shape.pattern(r.planId, PLAN_ID_PATTERN, `${field}.planId`, 'a plan id');
  shape.positiveInteger(r.revision, `${field}.revision`);
}

/** The plan revision exists and still passes the plan schema; then `more` checks it further. */
function checkPlan(
  ref: PlanRef,
  plans: ReleaseContext['plans'],
  more: (
    plan: PartitionPlanState,
    content: NonNullable<ReturnType<typeof planRevision>>,
  ) => DomainRejection | undefined,
): DomainRejection | undefined {
  const plan = plans?.[ref.planId];
  if (!plan?.exists) {
    return reject('PARTITION_PLAN_NOT_FOUND', `Partition plan ${ref.planId} does not exist`, {
      planId: ref.planId,
    });
  }
  const content = planRevision(plan, ref.revision);
  if (!content) {
    return reject(
      'PARTITION_PLAN_REVISION_NOT_FOUND',
      `Partition plan ${ref.planId} has no revision ${ref.revision} (latest is ${latestRevision(plan)})`,
      { planId: ref.planId, revision: ref.revision, latestRevision: latestRevision(plan) },
    );
  }
  // Stored revisions passed the schema when written; the schema may have tightened since.
  const parsed = parsePartitionPlan(content);
  if (!parsed.ok) {
    return reject(
      'INVALID_PARTITION_PLAN',
      `Partition plan ${ref.planId} revision ${ref.revision} no longer passes validation`,
      { planId: ref.planId, revision: ref.revision, errors: parsed.errors },
    );
  }
  return more(plan, parsed.value);
}

function rangeVersions(field: string, r: { min?: string; max?: string } | undefined): [string, unknown][] {
  if (!r) return [];
  return [
    ...(r.min !== undefined ? ([[`${field}.min`, r.min]] as [string, unknown][]) : []),
    ...(r.max !== undefined ? ([[`${field}.max`, r.max]] as [string, unknown][]) : []),
  ];
}

function range(r: { min?: string; max?: string }): VersionRange {
  return { ...(r.min !== undefined ? { min: r.min } : {}), ...(r.max !== undefined ? { max: r.max } : {}) };
}

function checkVersions(values: [string, unknown][]): DomainRejection | undefined {
  const bad = values.filter(([, v]) => !isVersion(v));
  if (bad.length === 0) return undefined;
  return reject(
    'INVALID_RELEASE_VERSION',
    `Not a version (MAJOR.MINOR[.PATCH][-pre][+build], e.g. 3.2 or 6.1.80-rt26): ${bad
      .map(([f, v]) => `${f} = ${JSON.stringify(v)}`)
      .join(', ')}`,
    { fields: bad.map(([f]) => f) },
  );
}

function requireDraft(state: ReleaseState, what: string): DomainRejection | undefined {
  if (state.status === 'draft') return undefined;
  return reject(
    'RELEASE_NOT_DRAFT',
    `Cannot ${what} release ${state.releaseId}: it is ${state.status}, and only a draft changes (draft a new version instead)`,
    { releaseId: state.releaseId, status: state.status },
  );
}

function notFound(releaseId: string): DomainRejection {
  return reject('RELEASE_NOT_FOUND', `Release ${releaseId} does not exist`, { releaseId });
}

function imageNotFound(releaseId: string, imageId: string): DomainRejection {
  return reject('RELEASE_IMAGE_NOT_FOUND', `Release ${releaseId} has no image ${imageId}`, {
    releaseId,
    imageId,
  });
}

function notPublished(releaseId: string, what: string): DomainRejection {
  return reject('RELEASE_NOT_PUBLISHED', `Cannot ${what} release ${releaseId}: it has not been published`, {
    releaseId,
  });
}

function yanked(releaseId: string): DomainRejection {
  return reject('RELEASE_YANKED', `Release ${releaseId} was yanked`, { releaseId });
}

export const releaseDecider: Decider<ReleaseState, ReleaseEvent, ReleaseCommand, ReleaseContext> = {
  name: 'Release',
  initialState: initialReleaseState,
  evolve: evolveRelease,
  decide: decideRelease,
  schemaVersions: RELEASE_EVENT_SCHEMA_VERSIONS,
};
