import { modifyPlan, samplePlan } from '@hyperfleet/acrn';
import { given as givenPlan } from '../testing';
import { partitionPlanDecider } from '../partition-plan/partition-plan.decider';
import { partitionPlanEvent } from '../partition-plan/partition-plan.events';
import { TEST_NOW, given } from '../testing';
import {
  AddReleaseImage,
  DeprecateRelease,
  DraftRelease,
  PublishRelease,
  RecordReleaseImageUpload,
  YankRelease,
} from './release.commands';
import { incompatibilities, type DeviceFacts } from './release.compatibility';
import { releaseDecider, type ReleaseContext } from './release.decider';
import { releaseEvent, type ReleaseEvent, type ReleaseImageSpec } from './release.events';
import { compareVersions, inRange, isVersion } from './release.version';

const T0 = '2025-06-01T00:00:00.000Z';
const releaseId = 'r-2025-06';
const planId = 'hybrid-rt-vehicle';
const plan = givenPlan(partitionPlanDecider, [
  partitionPlanEvent('PartitionPlanCreated', {
    planId,
    deviceClass: 'vehicle',
    description: '',
    revision: 1,
    plan: samplePlan(),
    at: T0,
  }),
]).state();
const plans: ReleaseContext = { plans: { [planId]: plan } };
const sha256 = (c: string) => c.repeat(64);
const sha512 = (c: string) => c.repeat(128);

const drafted = releaseEvent('ReleaseDrafted', {
  releaseId,
  name: 'June',
  version: '2025.6.0',
  description: '',
  compatibility: {
    deviceClasses: ['vehicle'],
    boardNames: ['tgl-i7-1185gre'],
    partitionPlan: { planId, revision: 1 },
    currentVersions: {},
  },
  at: T0,
});
const hvImage: ReleaseImageSpec = {
  imageId: 'hv',
  target: 'hypervisor',
  vmName: null,
  boardName: 'tgl-i7-1185gre',
  plan: { planId, revision: 1 },
  fileName: 'acrn.bin',
  mediaType: 'application/octet-stream',
  version: '3.2.0',
  length: 10,
  sha256: sha256('a'),
  sha512: sha512('a'),
  depends: [],
  provides: {},
};
const rtImage: ReleaseImageSpec = {
  imageId: 'rt0',
  target: 'rt-vm',
  vmName: 'RT_VM0',
  boardName: null,
  plan: null,
  fileName: 'rt0.img',
  mediaType: 'application/octet-stream',
  version: '1.0.0',
  length: 20,
  sha256: sha256('b'),
  sha512: sha512('b'),
  depends: [{ target: 'hypervisor', min: '3.2' }],
  provides: {},
};
const added = (image: ReleaseImageSpec) => releaseEvent('ReleaseImageAdded', { releaseId, image, at: T0 });
const uploaded = (image: ReleaseImageSpec) =>
  releaseEvent('ReleaseImageUploaded', {
    releaseId,
    imageId: image.imageId,
    sha256: image.sha256,
    length: image.length,
    at: T0,
  });
const published = releaseEvent('ReleasePublished', { releaseId, at: T0 });
const release = (...events: ReleaseEvent[]) => given(releaseDecider, events, plans);
const addCommand = (image: ReleaseImageSpec, override: Partial<AddReleaseImage['props']> = {}) =>
  new AddReleaseImage({
    releaseId,
    imageId: image.imageId,
    target: image.target,
    ...(image.vmName ? { vmName: image.vmName } : {}),
    ...(image.boardName ? { boardName: image.boardName } : {}),
    ...(image.plan ? { plan: image.plan } : {}),
    fileName: image.fileName,
    version: image.version,
    length: image.length,
    sha256: image.sha256,
    sha512: image.sha512,
    depends: image.depends,
    ...override,
  });

describe('release versions', () => {
  it('are semver-ish and ordered by SemVer precedence', () => {
    for (const v of ['3.2', '3.2.1', '3.3-unstable', '6.1.80-rt26', '1.0.0+build.5'])
      expect(isVersion(v)).toBe(true);
    for (const v of ['3', 'v3.2', '3.2.1.4', '', '03.1', 'latest']) expect(isVersion(v)).toBe(false);
    expect(compareVersions('3.2', '3.2.0')).toBe(0);
    expect(compareVersions('3.10', '3.9')).toBeGreaterThan(0);
    expect(compareVersions('3.3-unstable', '3.3')).toBeLessThan(0);
    expect(compareVersions('1.0.0-alpha.2', '1.0.0-alpha.10')).toBeLessThan(0);
    expect(inRange('3.2', { min: '3.2' })).toBe(true);
    expect(inRange('3.1.9', { min: '3.2' })).toBe(false);
    expect(inRange('4.0', { min: '3.2', max: '3.9' })).toBe(false);
  });
});

describe('Release', () => {
  describe('DraftRelease', () => {
    const draft = (props: Partial<DraftRelease['props']> = {}) =>
      new DraftRelease({
        releaseId,
        name: 'June',
        version: '2025.6.0',
        compatibility: {
          deviceClasses: ['vehicle'],
          boardNames: ['tgl-i7-1185gre'],
          partitionPlan: { planId, revision: 1 },
        },
        ...props,
      });

    it('drafts a release for a plan revision that exists', () => {
      release()
        .when(draft())
        .then([{ ...drafted, data: { ...drafted.data, at: TEST_NOW } }]);
    });

    it('refuses a version that is not semver-ish', () => {
      release()
        .when(draft({ version: 'june' }))
        .thenRejects('INVALID_RELEASE_VERSION');
      release()
        .when(draft({ compatibility: { currentVersions: { hypervisor: { min: 'three' } } } }))
        .thenRejects('INVALID_RELEASE_VERSION');
    });

    it('refuses a plan or a plan revision that does not exist', () => {
      release()
        .when(draft({ compatibility: { partitionPlan: { planId: 'nope', revision: 1 } } }))
        .thenRejects('PARTITION_PLAN_NOT_FOUND');
      release()
        .when(draft({ compatibility: { partitionPlan: { planId, revision: 7 } } }))
        .thenRejects('PARTITION_PLAN_REVISION_NOT_FOUND', { latestRevision: 1 });
    });

    it('refuses a plan revision that no longer passes validation', () => {
      const broken = { ...plan, revisions: [{ ...samplePlan(), vms: [] }] };
      release()
        .withContext({ plans: { [planId]: broken } })
        .when(draft())
        .thenRejects('INVALID_PARTITION_PLAN');
    });

    it('refuses a plan for another board or device class than the release', () => {
      release()
        .when(draft({ compatibility: { boardNames: ['nuc11'], partitionPlan: { planId, revision: 1 } } }))
        .thenRejects('RELEASE_PLAN_MISMATCH');
      release()
        .when(
          draft({
            compatibility: { deviceClasses: ['industrial-pc'], partitionPlan: { planId, revision: 1 } },
          }),
        )
        .thenRejects('RELEASE_PLAN_MISMATCH');
    });

    it('refuses a second draft of the same id and a broken shape', () => {
      release(drafted).when(draft()).thenRejects('RELEASE_ALREADY_EXISTS');
      release()
        .when(draft({ name: '', compatibility: { deviceClasses: ['boat'] } }))
        .thenRejects('INVALID_COMMAND');
    });
  });

  describe('AddReleaseImage', () => {
    it('adds a hypervisor image built for the plan and its board', () => {
      release(drafted)
        .when(addCommand(hvImage))
        .then([added(hvImage)].map((e) => ({ ...e, data: { ...e.data, at: TEST_NOW } })));
    });

    it('refuses a hypervisor image for another board than the plan was made for', () => {
      release(drafted)
        .when(addCommand(hvImage, { boardName: 'whl-ipc-i7' }))
        .thenRejects('HYPERVISOR_BOARD_MISMATCH', { planBoard: 'tgl-i7-1185gre' });
    });

    it('refuses a hypervisor image for another plan revision than the release', () => {
      const revised = givenPlan(partitionPlanDecider, [
        partitionPlanEvent('PartitionPlanCreated', {
          planId,
          deviceClass: 'vehicle',
          description: '',
          revision: 1,
          plan: samplePlan(),
          at: T0,
        }),
        partitionPlanEvent('PartitionPlanRevised', {
          planId,
          revision: 2,
          plan: modifyPlan(samplePlan(), () => undefined),
          at: T0,
        }),
      ]).state();
      release(drafted)
        .withContext({ plans: { [planId]: revised } })
        .when(addCommand(hvImage, { plan: { planId, revision: 2 } }))
        .thenRejects('RELEASE_PLAN_MISMATCH');
    });

    it('refuses a hypervisor image whose plan revision does not exist', () => {
      const noPlanRelease = releaseEvent('ReleaseDrafted', {
        ...drafted.data,
        compatibility: { ...drafted.data.compatibility, partitionPlan: null },
      });
      release(noPlanRelease)
        .when(addCommand(hvImage, { plan: { planId, revision: 3 } }))
        .thenRejects('PARTITION_PLAN_REVISION_NOT_FOUND');
    });

    it('refuses an RT VM image for a VM the plan does not have as an RTVM', () => {
      release(drafted)
        .when(addCommand(rtImage, { vmName: 'HMI_VM' }))
        .thenRejects('RTVM_NOT_IN_PLAN');
      release(drafted)
        .when(addCommand(rtImage))
        .thenMatches([{ type: 'ReleaseImageAdded' }]);
    });

    it('keeps one image per target; the same declaration twice appends nothing', () => {
      release(drafted, added(hvImage)).when(addCommand(hvImage)).then([]);
      release(drafted, added(hvImage))
        .when(addCommand(hvImage, { imageId: 'hv2' }))
        .thenRejects('RELEASE_IMAGE_TARGET_TAKEN');
      release(drafted, added(hvImage))
        .when(addCommand(hvImage, { version: '3.2.1' }))
        .thenRejects('RELEASE_IMAGE_ALREADY_EXISTS');
    });

    it('refuses to edit a published release', () => {
      release(drafted, added(hvImage), uploaded(hvImage), published)
        .when(addCommand(rtImage))
        .thenRejects('RELEASE_NOT_DRAFT', { status: 'published' });
    });

    it('refuses bad hashes, versions and fields', () => {
      release(drafted)
        .when(addCommand(hvImage, { sha256: 'xyz' }))
        .thenRejects('INVALID_COMMAND');
      release(drafted)
        .when(addCommand(hvImage, { version: 'v3' }))
        .thenRejects('INVALID_RELEASE_VERSION');
      release(drafted)
        .when(addCommand(rtImage, { vmName: undefined }))
        .thenRejects('INVALID_COMMAND');
      release().when(addCommand(hvImage)).thenRejects('RELEASE_NOT_FOUND');
    });
  });

  describe('RecordReleaseImageUpload', () => {
    const record = (over: Partial<RecordReleaseImageUpload['props']> = {}) =>
      new RecordReleaseImageUpload({
        releaseId,
        imageId: 'hv',
        length: hvImage.length,
        sha256: hvImage.sha256,
        sha512: hvImage.sha512,
        ...over,
      });

    it('records an upload with the declared length and hashes, once', () => {
      release(drafted, added(hvImage))
        .when(record())
        .thenMatches([{ type: 'ReleaseImageUploaded' }]);
      release(drafted, added(hvImage), uploaded(hvImage)).when(record()).then([]);
    });

    it('refuses an upload whose hash or length differs from the declared one', () => {
      release(drafted, added(hvImage))
        .when(record({ sha256: sha256('c') }))
        .thenRejects('IMAGE_HASH_MISMATCH');
      release(drafted, added(hvImage))
        .when(record({ sha512: sha512('c') }))
        .thenRejects('IMAGE_HASH_MISMATCH');
      release(drafted, added(hvImage))
        .when(record({ length: 11 }))
        .thenRejects('IMAGE_LENGTH_MISMATCH');
      release(drafted, added(hvImage))
        .when(record({ imageId: 'x' }))
        .thenRejects('RELEASE_IMAGE_NOT_FOUND');
    });
  });

  describe('lifecycle', () => {
    const publish = new PublishRelease({ releaseId });
    it('publishes only with every image uploaded', () => {
      release(drafted).when(publish).thenRejects('RELEASE_HAS_NO_IMAGES');
      release(drafted, added(hvImage), added(rtImage), uploaded(hvImage))
        .when(publish)
        .thenRejects('IMAGE_UPLOAD_MISSING', { imageIds: ['rt0'] });
      release(drafted, added(hvImage), uploaded(hvImage))
        .when(publish)
        .thenMatches([{ type: 'ReleasePublished' }]);
      release(drafted, added(hvImage), uploaded(hvImage), published).when(publish).then([]);
    });

    it('refuses to publish when an image needs a version another image of the release does not have', () => {
      const oldHv = { ...hvImage, version: '3.1' };
      release(drafted, added(oldHv), added(rtImage), uploaded(oldHv), uploaded(rtImage))
        .when(publish)
        .thenRejects('IMAGE_DEPENDENCY_UNSATISFIED');
    });

    it('deprecates a published release and yanks a published or deprecated one', () => {
      const deprecated = releaseEvent('ReleaseDeprecated', { releaseId, reason: 'superseded', at: T0 });
      release(drafted).when(new DeprecateRelease({ releaseId })).thenRejects('RELEASE_NOT_PUBLISHED');
      release(drafted, published)
        .when(new DeprecateRelease({ releaseId, reason: 'old' }))
        .thenMatches([{ type: 'ReleaseDeprecated', data: { reason: 'old' } }]);
      release(drafted)
        .when(new YankRelease({ releaseId, reason: 'bricks' }))
        .thenRejects('RELEASE_NOT_PUBLISHED');
      release(drafted, published, deprecated)
        .when(new YankRelease({ releaseId, reason: 'bricks' }))
        .thenMatches([{ type: 'ReleaseYanked', data: { previousStatus: 'deprecated' } }]);
      const yanked = releaseEvent('ReleaseYanked', {
        releaseId,
        reason: 'x',
        previousStatus: 'published',
        at: T0,
      });
      release(drafted, published, yanked)
        .when(new YankRelease({ releaseId, reason: 'again' }))
        .then([]);
      release(drafted, published, yanked)
        .when(new DeprecateRelease({ releaseId }))
        .thenRejects('RELEASE_YANKED');
      release(drafted, published, yanked).when(publish).thenRejects('RELEASE_NOT_DRAFT');
      release(drafted, published)
        .when(new YankRelease({ releaseId, reason: '' }))
        .thenRejects('INVALID_COMMAND');
    });
  });

  describe('compatibility with a device', () => {
    const device: DeviceFacts = {
      deviceId: 'veh-1',
      deviceClass: 'vehicle',
      boardName: 'tgl-i7-1185gre',
      desiredPlan: { planId, revision: 1 },
      reportedPlan: null,
      hypervisorVersion: '3.1',
      serviceVmOsVersion: '1.0',
      serviceVmKernelVersion: null,
    };
    const state = (...events: ReleaseEvent[]) => given(releaseDecider, [drafted, ...events]).state();
    const codes = (s: ReturnType<typeof state>, d: DeviceFacts = device) =>
      incompatibilities(s, d).map((i) => i.code);

    it('offers a published release that fits', () => {
      expect(codes(state(added(hvImage), added(rtImage), published))).toEqual([]);
    });
    it('never offers a draft or a yanked release', () => {
      expect(codes(state(added(hvImage)))).toEqual(['RELEASE_NOT_OFFERED']);
      const yanked = releaseEvent('ReleaseYanked', {
        releaseId,
        reason: 'x',
        previousStatus: 'published',
        at: T0,
      });
      expect(codes(state(added(hvImage), published, yanked))).toEqual(['RELEASE_NOT_OFFERED']);
    });
    it('refuses another class, board or plan', () => {
      const s = state(added(hvImage), published);
      expect(codes(s, { ...device, deviceClass: 'industrial-pc' })).toEqual(['DEVICE_CLASS_NOT_COMPATIBLE']);
      expect(codes(s, { ...device, boardName: 'whl' })).toEqual(['BOARD_NOT_COMPATIBLE']);
      expect(codes(s, { ...device, desiredPlan: { planId, revision: 2 } })).toEqual(['PLAN_NOT_COMPATIBLE']);
    });
    it('checks dependencies against the device when the release does not bring the target', () => {
      const s = state(added(rtImage), published);
      expect(codes(s)).toEqual(['DEPENDENCY_UNSATISFIED']);
      expect(codes(s, { ...device, hypervisorVersion: '3.2' })).toEqual([]);
    });
    it('checks the current version ranges', () => {
      const ranged = releaseEvent('ReleaseDrafted', {
        ...drafted.data,
        compatibility: { ...drafted.data.compatibility, currentVersions: { serviceVmOs: { min: '2.0' } } },
      });
      const s = given(releaseDecider, [ranged, added(hvImage), published]).state();
      expect(codes(s)).toEqual(['CURRENT_VERSION_OUT_OF_RANGE']);
    });
  });
});
