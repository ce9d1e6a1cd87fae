/**
 * The Uptane Image repository's metadata, in TUF's formats through @tufjs/models (canonical JSON,
 * ed25519): root (who signs what), and targets naming every published image of the catalogue (yanked and
 * draft releases are left out) with length, sha256 and sha512, and what it is for in `custom`.
 * Snapshot and timestamp are signed online by the server; the per-device Director comes next.
 */
import { createHash } from 'node:crypto';
import {
  MetaFile,
  Metadata,
  MetadataKind,
  Root,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from '@tufjs/models';
import { signerOf, TOP_LEVEL_ROLES, type RoleKey, type TopLevelRole } from './keys';

export const TUF_SPEC_VERSION = '1.0.31';

export interface RootSpec {
  readonly version: number;
  readonly expires: string;
  /** Public keys per role (the private halves of the signing keys are needed for `signWith`). */
  readonly keys: { readonly [R in TopLevelRole]: readonly RoleKey[] };
  readonly thresholds?: Partial<Record<TopLevelRole, number>>;
  /** The root keys that sign this root: the new ones, and on a rotation also the previous root's. */
  readonly signWith: readonly RoleKey[];
}

/** TUF expiry: ISO-8601 in whole seconds with Z. */
export function tufExpiry(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildRoot(spec: RootSpec): Metadata<Root> {
  // Through fromJSON: @tufjs/models does not export Role, and thresholds are part of the roles.
  const keys: Record<string, ReturnType<RoleKey['key']['toJSON']>> = {};
  const roles: Record<string, { keyids: string[]; threshold: number }> = {};
  for (const role of TOP_LEVEL_ROLES) {
    for (const k of spec.keys[role]) keys[k.keyId] = k.key.toJSON();
    roles[role] = { keyids: spec.keys[role].map((k) => k.keyId), threshold: spec.thresholds?.[role] ?? 1 };
  }
  const root = new Metadata(
    Root.fromJSON({
      _type: 'root',
      spec_version: TUF_SPEC_VERSION,
      version: spec.version,
      expires: spec.expires,
      keys,
      roles,
      consistent_snapshot: true,
    }),
  );
  for (const k of spec.signWith) root.sign(signerOf(k), true);
  return root;
}

/** What the Image repository signs of one image (structurally a ReleaseImage of a release). */
export interface CatalogueImage {
  readonly imageId: string;
  readonly target: string;
  readonly vmName: string | null;
  readonly boardName: string | null;
  readonly plan: { planId: string; revision: number } | null;
  readonly fileName: string;
  readonly version: string;
  readonly length: number;
  readonly sha256: string;
  readonly sha512: string;
  readonly uploaded: boolean;
}

export interface CatalogueRelease {
  readonly releaseId: string;
  readonly version: string;
  readonly status: string;
  readonly compatibility: {
    readonly boardNames: readonly string[];
    readonly deviceClasses: readonly string[];
  };
  readonly images: readonly CatalogueImage[];
}

/** The target path of an image: `<releaseId>/<imageId>/<fileName>`. */
export const targetPath = (releaseId: string, image: Pick<CatalogueImage, 'imageId' | 'fileName'>) =>
  `${releaseId}/${image.imageId}/${image.fileName}`;

/** Releases whose images the repository vouches for: published or deprecated, never draft or yanked. */
export function signable(release: CatalogueRelease): boolean {
  return release.status === 'published' || release.status === 'deprecated';
}

export function buildImageTargets(
  releases: readonly CatalogueRelease[],
  options: { version: number; expires: string; signWith: readonly RoleKey[] },
): Metadata<Targets> {
  const targets: Record<string, TargetFile> = {};
  for (const release of releases.filter(signable)) {
    for (const image of release.images) {
      if (!image.uploaded) continue;
      const path = targetPath(release.releaseId, image);
      targets[path] = new TargetFile({
        path,
        length: image.length,
        hashes: { sha256: image.sha256, sha512: image.sha512 },
        unrecognizedFields: {
          custom: {
            releaseId: release.releaseId,
            releaseVersion: release.version,
            imageId: image.imageId,
            target: image.target,
            version: image.version,
            vmName: image.vmName,
            // Uptane's hardware identifiers: the boards the image may go to.
            hardwareIds: image.boardName ? [image.boardName] : [...release.compatibility.boardNames],
            deviceClasses: [...release.compatibility.deviceClasses],
            partitionPlan: image.plan ? { planId: image.plan.planId, revision: image.plan.revision } : null,
          },
        },
      });
    }
  }
  const metadata = new Metadata(
    new Targets({
      version: options.version,
      specVersion: TUF_SPEC_VERSION,
      expires: options.expires,
      targets,
    }),
  );
  for (const k of options.signWith) metadata.sign(signerOf(k), true);
  return metadata;
}

/** Throws unless `metadata` carries a threshold of valid signatures of `role`'s keys in `root`. */
export function verifyRole(
  root: Metadata<Root>,
  role: TopLevelRole,
  metadata: Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>,
): void {
  root.verifyDelegate(role, metadata);
}

export function parseRoot(json: unknown): Metadata<Root> {
  return Metadata.fromJSON(MetadataKind.Root, json as Parameters<typeof Metadata.fromJSON>[1]);
}

export function parseTargets(json: unknown): Metadata<Targets> {
  return Metadata.fromJSON(MetadataKind.Targets, json as Parameters<typeof Metadata.fromJSON>[1]);
}

/** The canonical bytes a metadata file is served as (what snapshot and timestamp hash). */
export function metadataBytes(metadata: { toJSON(): unknown }): Buffer {
  return Buffer.from(JSON.stringify(metadata.toJSON()));
}

/** snapshot.json: the targets version (with length and hash of its bytes), signed by the snapshot key. */
export function buildSnapshot(
  targets: Buffer,
  targetsVersion: number,
  options: { version: number; expires: string; signWith: readonly RoleKey[] },
): Metadata<Snapshot> {
  const meta = {
    'targets.json': new MetaFile({
      version: targetsVersion,
      length: targets.length,
      hashes: { sha256: createHash('sha256').update(targets).digest('hex') },
    }),
  };
  const md = new Metadata(
    new Snapshot({ version: options.version, specVersion: TUF_SPEC_VERSION, expires: options.expires, meta }),
  );
  for (const k of options.signWith) md.sign(signerOf(k), true);
  return md;
}

/** timestamp.json: the snapshot version, length and hash, signed by the timestamp key. */
export function buildTimestamp(
  snapshot: Buffer,
  snapshotVersion: number,
  options: { version: number; expires: string; signWith: readonly RoleKey[] },
): Metadata<Timestamp> {
  const snapshotMeta = new MetaFile({
    version: snapshotVersion,
    length: snapshot.length,
    hashes: { sha256: createHash('sha256').update(snapshot).digest('hex') },
  });
  const md = new Metadata(
    new Timestamp({
      version: options.version,
      specVersion: TUF_SPEC_VERSION,
      expires: options.expires,
      snapshotMeta,
    }),
  );
  for (const k of options.signWith) md.sign(signerOf(k), true);
  return md;
}
