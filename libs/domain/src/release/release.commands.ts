import { DomainCommand, type CommandMeta } from '../shared/command';

/** Operator: a new release in `draft`. `compatibility` fields are optional (empty: any). */
export class DraftRelease extends DomainCommand<
  'DraftRelease',
  {
    releaseId: string;
    name: string;
    version: string;
    description?: string;
    compatibility?: {
      deviceClasses?: string[];
      boardNames?: string[];
      partitionPlan?: { planId: string; revision: number } | null;
      currentVersions?: {
        hypervisor?: { min?: string; max?: string };
        serviceVmOs?: { min?: string; max?: string };
        serviceVmKernel?: { min?: string; max?: string };
      };
    };
  }
> {
  constructor(props: DraftRelease['props'], meta?: CommandMeta) {
    super('DraftRelease', props, meta);
  }
}

/** Operator: declare an image of a draft release (its bytes are uploaded afterwards and must match). */
export class AddReleaseImage extends DomainCommand<
  'AddReleaseImage',
  {
    releaseId: string;
    imageId: string;
    target: string;
    vmName?: string;
    boardName?: string;
    plan?: { planId: string; revision: number };
    fileName?: string;
    mediaType?: string;
    version: string;
    length: number;
    sha256: string;
    sha512: string;
    depends?: { target: string; vmName?: string; min?: string; max?: string }[];
    provides?: Record<string, string>;
  }
> {
  constructor(props: AddReleaseImage['props'], meta?: CommandMeta) {
    super('AddReleaseImage', props, meta);
  }
}

/** The artifact store holds bytes of this length and these hashes for the image (measured on upload). */
export class RecordReleaseImageUpload extends DomainCommand<
  'RecordReleaseImageUpload',
  { releaseId: string; imageId: string; length: number; sha256: string; sha512: string }
> {
  constructor(props: RecordReleaseImageUpload['props'], meta?: CommandMeta) {
    super('RecordReleaseImageUpload', props, meta);
  }
}

export class PublishRelease extends DomainCommand<'PublishRelease', { releaseId: string }> {
  constructor(props: PublishRelease['props'], meta?: CommandMeta) {
    super('PublishRelease', props, meta);
  }
}

export class DeprecateRelease extends DomainCommand<
  'DeprecateRelease',
  { releaseId: string; reason?: string }
> {
  constructor(props: DeprecateRelease['props'], meta?: CommandMeta) {
    super('DeprecateRelease', props, meta);
  }
}

export class YankRelease extends DomainCommand<'YankRelease', { releaseId: string; reason: string }> {
  constructor(props: YankRelease['props'], meta?: CommandMeta) {
    super('YankRelease', props, meta);
  }
}

export type ReleaseCommand =
  DraftRelease | AddReleaseImage | RecordReleaseImageUpload | PublishRelease | DeprecateRelease | YankRelease;
