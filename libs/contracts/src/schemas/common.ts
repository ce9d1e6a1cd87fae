import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol';
import {
  CODE_PATTERN,
  DEVICE_ID_PATTERN,
  ENTITY_ID_PATTERN,
  MESSAGE_ID_PATTERN,
  VM_NAME_PATTERN,
} from '../ids';

/**
 * Building blocks shared by device and backend messages. Objects are `z.object`: a receiver ignores
 * fields it does not know (they are stripped), so v1 can gain optional fields without breaking older
 * parties. A breaking change is a new topic root (`hf/v2`).
 */

export const protocolVersionSchema = z
  .literal(PROTOCOL_VERSION)
  .describe('Protocol version; always 1 on hf/v1 topics.');

export const deviceIdSchema = z
  .string()
  .regex(
    DEVICE_ID_PATTERN,
    'a device id: 1-128 letters, digits, ".", "_", ":" or "-", starting alphanumeric',
  );

export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, 'an id of 1-128 letters, digits, ".", "_", ":" or "-" (a UUID fits)');

export const entityIdSchema = z
  .string()
  .regex(ENTITY_ID_PATTERN, 'an id of 1-128 letters, digits, ".", "_", ":" or "-"');

export const vmNameSchema = z
  .string()
  .regex(VM_NAME_PATTERN, 'an ACRN VM name: 1-15 of letters, digits, "_" or "-"')
  .describe('ACRN VM name (scenario `vm/name`).');

export const codeSchema = z
  .string()
  .regex(CODE_PATTERN, 'an UPPER_SNAKE_CASE code')
  .describe('Machine-readable code in UPPER_SNAKE_CASE.');

/** ISO-8601 with a time zone, e.g. `2025-01-31T12:00:00.000Z`. */
export const timestampSchema = z.iso.datetime({ offset: true });

/** A version label as a build system prints it (`3.3.1`, `2025.01.2-rt`): printable ASCII, no spaces. */
export const versionLabelSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const nonNegativeInt = z.int().nonnegative();
export const positiveInt = z.int().positive();
export const nonNegativeNumber = z.number().nonnegative();
export const percent = z.number().min(0).max(100);

/** acrnctl's VM states (misc/services/acrn_manager/acrnctl.c). */
export const ACRNCTL_STATES = ['stopped', 'started', 'suspended', 'untracked', 'unknown'] as const;
export type AcrnctlState = (typeof ACRNCTL_STATES)[number];
export const acrnctlStateSchema = z.enum(ACRNCTL_STATES);

/** Events the Device Model (acrn-dm) reports for a post-launched VM (`vm_event_type`). */
export const DM_VM_EVENTS = ['VM_EVENT_POWEROFF', 'VM_EVENT_TRIPLE_FAULT', 'VM_EVENT_RTC_CHG'] as const;
export type DmVmEvent = (typeof DM_VM_EVENTS)[number];

/** What an OTA update replaces. */
export const ARTEFACT_KINDS = ['hypervisor', 'service-vm-image', 'rtvm-image'] as const;
export type ArtefactKind = (typeof ARTEFACT_KINDS)[number];

/** A code and a sentence: why something failed. */
export const errorInfoSchema = z.object({
  code: codeSchema,
  message: z.string().min(1).max(1024),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** A partition plan revision: the plan a hypervisor binary was built from. */
export const planRefSchema = z.object({
  planId: entityIdSchema,
  revision: positiveInt,
});
export type PlanRef = z.infer<typeof planRefSchema>;

/** Where the agent downloads an artefact, and how it checks it. */
export const artefactSourceSchema = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
  sizeBytes: positiveInt,
  signature: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe('Detached signature (base64) over the artefact, when releases are signed.'),
});
export type ArtefactSource = z.infer<typeof artefactSourceSchema>;

/** Which artefact an update is about: the hypervisor binary, the Service VM image, or one VM's image. */
export const artefactTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hypervisor'), version: versionLabelSchema }),
  z.object({ kind: z.literal('service-vm-image'), version: versionLabelSchema }),
  z.object({ kind: z.literal('rtvm-image'), vmName: vmNameSchema, version: versionLabelSchema }),
]);
export type ArtefactTarget = z.infer<typeof artefactTargetSchema>;
