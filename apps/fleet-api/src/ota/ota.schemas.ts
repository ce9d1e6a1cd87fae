import { z } from 'zod';
import { UPDATE_STAGES } from '@hyperfleet/contracts';
import { OTA_TARGET_KINDS } from '@hyperfleet/read-models';
import { cursorSchema, limitSchema, pageSchema } from '../scheduling/pagination';

/** Query and response shapes of /api/v1/ota. */

export const targetKindSchema = z
  .enum(OTA_TARGET_KINDS)
  .describe(
    'Artefact: hypervisor, partition-plan (the plan the hypervisor is built from, version <planId>@<revision>), ' +
      'service-vm-image, rtvm-image (every RT VM image)',
  );

const versionSchema = z.string().trim().min(1).max(200);

export const versionsQuerySchema = z.object({ target: targetKindSchema }).strict();
export type VersionsQuery = z.output<typeof versionsQuerySchema>;

export const otaDevicesQuerySchema = z
  .object({
    target: targetKindSchema.optional(),
    version: versionSchema
      .optional()
      .describe('Artefacts whose reported, desired or in-flight update version is this one'),
    stage: z.enum(UPDATE_STAGES).optional().describe('Artefacts whose latest update stage is this one'),
    limit: limitSchema,
    cursor: cursorSchema(3).optional(),
  })
  .strict();
export type OtaDevicesQuery = z.output<typeof otaDevicesQuerySchema>;

export const updateSchema = z.object({
  version: z.string().describe('The version being installed'),
  fromVersion: z.string().nullable(),
  stage: z.enum(UPDATE_STAGES),
  percent: z.number().nullable(),
  rolloutId: z.string(),
  desiredStateVersion: z.int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  reportedAt: z.string().describe('sentAt of the update-progress message'),
});

export const otaTargetSchema = z.object({
  target: targetKindSchema,
  vmName: z.string().nullable().describe('The RT VM, for rtvm-image'),
  reportedVersion: z
    .string()
    .nullable()
    .describe('What the device runs; RT VM images are not reported by any event yet, so null for them'),
  reportedAt: z.string().nullable(),
  desiredVersion: z.string().nullable(),
  desiredSource: z.string().nullable().describe('The event that set the desired version'),
  desiredAt: z.string().nullable(),
  upToDate: z.boolean().nullable().describe('reported = desired; null without a desired version'),
  update: updateSchema.nullable().describe('The latest update-progress of this artefact'),
});
export type OtaTarget = z.output<typeof otaTargetSchema>;

export const otaDeviceResponseSchema = z.object({
  deviceId: z.string(),
  deviceClass: z.string().nullable(),
  site: z.string().nullable(),
  targets: z.array(otaTargetSchema),
});
export type OtaDeviceResponse = z.output<typeof otaDeviceResponseSchema>;

export const versionsResponseSchema = z.object({
  target: targetKindSchema,
  versions: z.array(
    z.object({
      version: z.string(),
      reported: z.int().describe('Devices that report running it'),
      desired: z.int().describe('Devices it is desired on'),
      inProgress: z.int().describe('Devices updating to it (downloading … rebooting)'),
      failed: z.int().describe('Devices whose update to it ended failed or rolled-back'),
    }),
  ),
});
export type VersionsResponse = z.output<typeof versionsResponseSchema>;

export const otaDeviceItemSchema = otaTargetSchema.extend({ deviceId: z.string() });
export type OtaDeviceItem = z.output<typeof otaDeviceItemSchema>;
export const otaDevicesPageSchema = pageSchema(otaDeviceItemSchema);
