import { z } from 'zod';
import {
  DEVICE_CLASSES,
  DEVICE_ID_PATTERN,
  IMAGE_ID_PATTERN,
  IMAGE_TARGETS,
  INCOMPATIBILITY_CODES,
  PLAN_ID_PATTERN,
  RELEASE_ID_PATTERN,
  RELEASE_STATUSES,
  VM_NAME_PATTERN,
} from '@hyperfleet/domain';

/** Request and response shapes of /api/v1/releases and /api/v1/artifacts. */

export const releaseIdSchema = z
  .string()
  .regex(RELEASE_ID_PATTERN, { message: 'must be 1 to 128 letters, digits, ".", "_", ":" or "-"' })
  .describe('Release id, chosen by its author (e.g. acrn-3.2-tgl-2025.06)');
export const imageIdSchema = z
  .string()
  .regex(IMAGE_ID_PATTERN, { message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' })
  .describe('Image id within the release (e.g. hv, sos, rt0)');
export const sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits' })
  .describe('sha256 of the bytes, lowercase hex');
const sha512Schema = z
  .string()
  .regex(/^[0-9a-f]{128}$/, { message: 'must be 128 lowercase hex digits' })
  .describe('sha512 of the bytes, lowercase hex');
const versionText = z.string().min(1).max(140);
const rangeSchema = z
  .object({ min: versionText.optional(), max: versionText.optional() })
  .strict()
  .describe('Inclusive version range; either end may be left out');
const planRefSchema = z
  .object({
    planId: z.string().regex(PLAN_ID_PATTERN, { message: 'must be a plan id' }),
    revision: z.number().int().min(1),
  })
  .strict();

export const createReleaseBodySchema = z
  .object({
    releaseId: releaseIdSchema,
    name: z.string().trim().min(1).max(200).describe('Human name, e.g. "ACRN 3.2 for TGL vehicles"'),
    version: versionText.describe('Semver-ish: MAJOR.MINOR[.PATCH][-pre][+build]'),
    description: z.string().max(2000).optional(),
    compatibility: z
      .object({
        deviceClasses: z
          .array(z.enum(DEVICE_CLASSES))
          .max(8)
          .optional()
          .describe('Empty or absent: any class'),
        boardNames: z
          .array(z.string().min(1).max(128))
          .max(64)
          .optional()
          .describe('Empty or absent: any board'),
        partitionPlan: planRefSchema
          .nullable()
          .optional()
          .describe('The partition plan revision the release was built for'),
        currentVersions: z
          .object({
            hypervisor: rangeSchema.optional(),
            serviceVmOs: rangeSchema.optional(),
            serviceVmKernel: rangeSchema.optional(),
          })
          .strict()
          .optional()
          .describe('What a device must run now to take the release'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CreateReleaseBody = z.output<typeof createReleaseBodySchema>;

export const addImageBodySchema = z
  .object({
    imageId: imageIdSchema,
    target: z.enum(IMAGE_TARGETS).describe('What the image is installed as'),
    vmName: z.string().regex(VM_NAME_PATTERN).optional().describe('rt-vm images: the ACRN VM name'),
    boardName: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('hypervisor images: the board acrn.bin is built for'),
    plan: planRefSchema.optional().describe('hypervisor images: the plan revision compiled into acrn.bin'),
    fileName: z.string().min(1).max(255).optional(),
    mediaType: z.string().min(3).max(255).optional().describe('Default application/octet-stream'),
    version: versionText,
    length: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Bytes'),
    sha256: sha256Schema,
    sha512: sha512Schema,
    depends: z
      .array(
        z
          .object({
            target: z.enum(IMAGE_TARGETS),
            vmName: z.string().regex(VM_NAME_PATTERN).optional(),
            min: versionText.optional(),
            max: versionText.optional(),
          })
          .strict(),
      )
      .max(16)
      .optional()
      .describe('e.g. [{ "target": "hypervisor", "min": "3.2" }]'),
    provides: z.record(z.string(), z.string()).optional().describe('Capabilities the image provides'),
  })
  .strict();
export type AddImageBody = z.output<typeof addImageBodySchema>;

export const reasonBodySchema = z.object({ reason: z.string().max(2000).optional() }).strict();
export type ReasonBody = z.output<typeof reasonBodySchema>;
export const yankBodySchema = z.object({ reason: z.string().trim().min(1).max(2000) }).strict();
export type YankBody = z.output<typeof yankBodySchema>;

export const listReleasesQuerySchema = z
  .object({
    deviceId: z
      .string()
      .regex(DEVICE_ID_PATTERN)
      .optional()
      .describe('Only the releases this device can take now (published and compatible)'),
    status: z.enum(RELEASE_STATUSES).optional(),
    deviceClass: z.enum(DEVICE_CLASSES).optional().describe('Releases for this class (or for any)'),
    boardName: z.string().min(1).max(128).optional().describe('Releases for this board (or for any)'),
    planId: z.string().regex(PLAN_ID_PATTERN).optional().describe('Releases built for this plan'),
  })
  .strict();
export type ListReleasesQuery = z.output<typeof listReleasesQuerySchema>;

export const compatibilityQuerySchema = z.object({ deviceId: z.string().regex(DEVICE_ID_PATTERN) }).strict();

export const signUrlBodySchema = z
  .object({
    deviceId: z.string().regex(DEVICE_ID_PATTERN).optional().describe('Binds the link to one device'),
    ttlSeconds: z.number().int().min(10).max(604800).optional().describe('Default ARTIFACT_URL_TTL_SECONDS'),
  })
  .strict();
export type SignUrlBody = z.output<typeof signUrlBodySchema>;

export const signedDownloadQuerySchema = z
  .object({
    expires: z.string().regex(/^\d{1,12}$/),
    sig: z.string().min(1).max(100),
    device: z.string().regex(DEVICE_ID_PATTERN).optional(),
  })
  .strict();
export type SignedDownloadQuery = z.output<typeof signedDownloadQuerySchema>;

const imageResponseSchema = z.object({
  imageId: z.string(),
  target: z.enum(IMAGE_TARGETS),
  vmName: z.string().nullable(),
  boardName: z.string().nullable(),
  plan: planRefSchema.nullable(),
  fileName: z.string(),
  mediaType: z.string(),
  version: z.string(),
  length: z.number(),
  sha256: z.string(),
  sha512: z.string(),
  depends: z.array(
    z.object({
      target: z.string(),
      vmName: z.string().optional(),
      min: z.string().optional(),
      max: z.string().optional(),
    }),
  ),
  provides: z.record(z.string(), z.string()),
  uploaded: z.boolean(),
  uploadedAt: z.string().nullable(),
  links: z.object({ content: z.string().describe('Authenticated download (GET, Range)') }),
});

export const releaseResponseSchema = z.object({
  releaseId: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string(),
  status: z.enum(RELEASE_STATUSES),
  compatibility: z.object({
    deviceClasses: z.array(z.string()),
    boardNames: z.array(z.string()),
    partitionPlan: planRefSchema.nullable(),
    currentVersions: z.record(z.string(), rangeSchema),
  }),
  images: z.array(imageResponseSchema),
  draftedAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  deprecatedAt: z.string().nullable(),
  deprecationReason: z.string().nullable(),
  yankedAt: z.string().nullable(),
  yankReason: z.string().nullable(),
  streamVersion: z.number().describe('Also the ETag; send it in If-Match to write at this version'),
});
export type ReleaseResponse = z.output<typeof releaseResponseSchema>;

export const releaseListResponseSchema = z.object({
  items: z.array(releaseResponseSchema),
  device: z
    .object({
      deviceId: z.string(),
      deviceClass: z.string().nullable(),
      boardName: z.string().nullable(),
      desiredPlan: planRefSchema.nullable(),
      reportedPlan: planRefSchema.nullable(),
      hypervisorVersion: z.string().nullable(),
      serviceVmOsVersion: z.string().nullable(),
      serviceVmKernelVersion: z.string().nullable(),
    })
    .nullable()
    .describe('With ?deviceId: what the inventory knows of the device'),
});

export const compatibilityResponseSchema = z.object({
  releaseId: z.string(),
  deviceId: z.string(),
  compatible: z.boolean(),
  reasons: z.array(z.object({ code: z.enum(INCOMPATIBILITY_CODES), message: z.string() })),
});

export const uploadResponseSchema = z.object({
  releaseId: z.string(),
  imageId: z.string(),
  sha256: z.string(),
  sha512: z.string(),
  length: z.number(),
  stored: z.enum(['created', 'existing']).describe('existing: the store already held these bytes'),
  streamVersion: z.number(),
});

export const signedUrlResponseSchema = z.object({
  url: z.string().describe('Path and query; needs no credential until it expires'),
  expiresAt: z.string(),
  sha256: z.string(),
  length: z.number(),
});
