import { z } from 'zod';

/**
 * Bodies and responses of PATCH /api/v1/devices/{id}/labels and /attributes. The schemas check the
 * shape only (400 VALIDATION_FAILED); the rules on keys, values and counts are the domain's (422
 * INVALID_DEVICE_ATTRIBUTES, DEVICE_ATTRIBUTE_LIMIT_EXCEEDED), so every client gets the same answer.
 */

export const updateLabelsBodySchema = z
  .object({
    site: z.string().trim().min(1).max(200).optional().describe('Move the device to this site'),
    tags: z
      .array(z.string().trim().min(1).max(64))
      .max(64)
      .optional()
      .describe('The complete new tag list (replaces the current one; [] clears it)'),
  })
  .strict()
  .describe('Absent fields stay as they are');
export type UpdateLabelsBody = z.output<typeof updateLabelsBodySchema>;

export const setAttributesBodySchema = z
  .object({
    set: z
      .record(z.string(), z.string())
      .optional()
      .describe('Keys to set: /^[a-z][a-z0-9_.-]{0,63}$/ → string of at most 256 characters'),
    remove: z.array(z.string()).max(64).optional().describe('Keys to remove (applied before set)'),
  })
  .strict()
  .describe('A device has at most 64 attributes');
export type SetAttributesBody = z.output<typeof setAttributesBodySchema>;

export const labelsResponseSchema = z.object({
  deviceId: z.string(),
  version: z.number().int().describe('The Hypervisor stream version after the write (also the ETag)'),
  changed: z.boolean().describe('false when the device already had these labels (nothing was recorded)'),
  site: z.string(),
  tags: z.array(z.string()),
});
export type LabelsResponse = z.output<typeof labelsResponseSchema>;

export const attributesResponseSchema = z.object({
  deviceId: z.string(),
  version: z.number().int().describe('The Hypervisor stream version after the write (also the ETag)'),
  changed: z.boolean().describe('false when nothing changed (nothing was recorded)'),
  attributes: z.record(z.string(), z.string()).describe('Every attribute of the device after the write'),
});
export type AttributesResponse = z.output<typeof attributesResponseSchema>;
