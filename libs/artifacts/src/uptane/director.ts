/**
 * The Uptane Director's per-device targets: exactly the images one device should install, bound to that
 * device (ecuIdentifier) and its board (hardwareId), signed online with the Director's targets key and
 * short-lived. A device installs an image only when the Director and the Image repository agree on it.
 */
import { Metadata, TargetFile, Targets } from '@tufjs/models';
import { TUF_SPEC_VERSION } from './image-repository';
import { signerOf, type RoleKey } from './keys';

export interface DirectedImage {
  /** The Image repository's target path (`<releaseId>/<imageId>/<fileName>`). */
  readonly path: string;
  readonly length: number;
  readonly sha256: string;
  readonly sha512: string;
  /** Where the device downloads it (a signed link), if any. */
  readonly uri?: string;
}

export interface DirectedDevice {
  readonly deviceId: string;
  /** The device's board name: Uptane's hardware identifier. */
  readonly hardwareId: string;
}

export function buildDirectorTargets(
  device: DirectedDevice,
  images: readonly DirectedImage[],
  options: { version: number; expires: string; signWith: RoleKey; signer?: ReturnType<typeof signerOf> },
): Metadata<Targets> {
  const targets: Record<string, TargetFile> = {};
  for (const image of images) {
    targets[image.path] = new TargetFile({
      path: image.path,
      length: image.length,
      hashes: { sha256: image.sha256, sha512: image.sha512 },
      unrecognizedFields: {
        custom: {
          ecuIdentifier: device.deviceId,
          hardwareId: device.hardwareId,
          ...(image.uri ? { uri: image.uri } : {}),
        },
      },
    });
  }
  const metadata = new Metadata(
    new Targets({
      version: options.version,
      specVersion: TUF_SPEC_VERSION,
      expires: options.expires,
      targets,
    }),
  );
  metadata.sign(options.signer ?? signerOf(options.signWith));
  return metadata;
}
