import { z } from 'zod';
import { DEVICE_CLASSES, PLAN_ID_PATTERN } from '@hyperfleet/domain';
import { deviceIdSchema } from '../devices/devices.schemas';
import { deviceFilterSchema } from '../fleet/device-filter';
import { boardNameSchema } from '../boards/boards.schemas';
import { cursorSchema, limitSchema, pageSchema } from '../scheduling/pagination';

/** Shapes of /api/v1/plans: validation and the OpenAPI document come from these. */

export const planIdSchema = z
  .string()
  .regex(PLAN_ID_PATTERN, {
    message: 'must be 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  })
  .describe('Partition plan id');

export const revisionSchema = z.coerce
  .number({ message: 'must be a whole number from 1' })
  .int({ message: 'must be a whole number from 1' })
  .min(1, { message: 'must be a whole number from 1' })
  .describe('Plan revision (1, 2, 3…)');

const planJsonSchema = z
  .record(z.string(), z.unknown())
  .describe(
    'An ACRN scenario as @hyperfleet/acrn plan JSON: { board, scenario, kind, hv, vms: [...] } ' +
      '(ACRN defaults are filled in)',
  );

export const FORMATS = ['json', 'scenario-xml'] as const;
const formatSchema = z
  .enum(FORMATS)
  .describe('scenario-xml: the body is an ACRN scenario XML (also implied by Content-Type: application/xml)');

export const createPlanBodySchema = z
  .object({
    planId: planIdSchema,
    deviceClass: z.enum(DEVICE_CLASSES).describe('vehicle or industrial-pc; fixed for the plan'),
    description: z.string().max(2000).optional(),
    plan: planJsonSchema,
  })
  .strict();
export type CreatePlanBody = z.output<typeof createPlanBodySchema>;

/** For an XML upload, what a JSON body would carry comes as query parameters. */
export const createPlanQuerySchema = z
  .object({
    format: formatSchema.optional(),
    planId: planIdSchema.optional().describe('Plan id (XML upload: required)'),
    deviceClass: z
      .enum(DEVICE_CLASSES)
      .optional()
      .describe('vehicle or industrial-pc (XML upload: required)'),
    description: z.string().max(2000).optional(),
    board: boardNameSchema
      .optional()
      .describe('XML upload: the board, when <acrn-config> has no board attribute'),
    scenario: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        'XML upload: the scenario name, when <acrn-config> has no scenario attribute (default: the plan id)',
      ),
  })
  .strict();
export type CreatePlanQuery = z.output<typeof createPlanQuerySchema>;

export const revisePlanBodySchema = z
  .object({
    basedOnRevision: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('The revision this edit started from (default: the latest); another latest revision is 409'),
    plan: planJsonSchema,
  })
  .strict();
export type RevisePlanBody = z.output<typeof revisePlanBodySchema>;

export const revisePlanQuerySchema = z
  .object({
    format: formatSchema.optional(),
    basedOnRevision: revisionSchema.optional(),
    board: boardNameSchema.optional(),
    scenario: z.string().min(1).max(200).optional(),
  })
  .strict();
export type RevisePlanQuery = z.output<typeof revisePlanQuerySchema>;

export const validatePlanBodySchema = z
  .object({
    plan: planJsonSchema,
    board: boardNameSchema
      .optional()
      .describe('Validate against this imported board (default: the plan\u2019s board)'),
    deviceId: deviceIdSchema
      .optional()
      .describe('Validate against the board this device reports (instead of an imported board)'),
  })
  .strict();
export type ValidatePlanBody = z.output<typeof validatePlanBodySchema>;

export const validatePlanQuerySchema = z
  .object({
    format: formatSchema.optional(),
    board: boardNameSchema
      .optional()
      .describe('Validate against this imported board (default: the board the plan names)'),
    deviceId: deviceIdSchema
      .optional()
      .describe('Validate against the board this device reports (instead of an imported board)'),
    scenario: z.string().min(1).max(200).optional(),
  })
  .strict();
export type ValidatePlanQuery = z.output<typeof validatePlanQuerySchema>;

export const assignPlanBodySchema = z
  .object({
    revision: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Default: the latest revision, pinned for every device'),
    deviceId: deviceIdSchema.optional(),
    filter: deviceFilterSchema.optional(),
  })
  .strict()
  .refine((b) => (b.deviceId === undefined) !== (b.filter === undefined), {
    message: 'give either deviceId or filter',
  });
export type AssignPlanBody = z.output<typeof assignPlanBodySchema>;

export const listPlansQuerySchema = z
  .object({ limit: limitSchema, cursor: cursorSchema(1).optional() })
  .strict();
export type ListPlansQuery = z.output<typeof listPlansQuerySchema>;

export const exportQuerySchema = z
  .object({ download: z.enum(['true', 'false']).optional().describe('Content-Disposition: attachment') })
  .strict();

// ---- responses

export const violationSchema = z.object({
  code: z.string().describe('Rule code (docs/acrn-rules.md), e.g. RTVM_PCPU_SHARED'),
  severity: z.enum(['error', 'warning']),
  group: z.string().describe('The ACRN check file the rule comes from'),
  message: z.string(),
  vm: z.string().nullable().describe('The first VM involved'),
  vms: z.array(z.string()),
  pcpus: z.array(z.number()),
  path: z.string().nullable().describe('Where in the plan, when the rule says'),
});
export type ViolationItem = z.output<typeof violationSchema>;

export const validationReportSchema = z.object({
  valid: z.boolean().describe('No error-severity violation (warnings allowed, as in ACRN)'),
  board: z.object({
    name: z.string(),
    source: z
      .enum(['imported', 'reported'])
      .describe('An imported board XML, or the board inventory a device reported (`deviceId`)'),
    revision: z.number().nullable().describe('Revision of the imported board (null: reported)'),
    xmlSha256: z.string().nullable().describe('sha256 of the imported board XML (null: reported)'),
    deviceId: z.string().nullable().describe('The device whose reported board was used'),
  }),
  errorCount: z.number(),
  warningCount: z.number(),
  violations: z.array(violationSchema).describe('Errors first, then warnings'),
});
export type ValidationReportResponse = z.output<typeof validationReportSchema>;

export const validateResponseSchema = validationReportSchema.extend({
  unmodelled: z.array(z.string()).describe('XML: what the importer reported it does not model'),
});
export type ValidateResponse = z.output<typeof validateResponseSchema>;

const revisionInfoSchema = z.object({ revision: z.number(), at: z.string().nullable() });

export const planSummarySchema = z.object({
  planId: z.string(),
  deviceClass: z.string(),
  description: z.string(),
  latestRevision: z.number(),
  board: z.string().describe('Board the latest revision names'),
  scenario: z.string(),
  kind: z.string().describe('shared, partitioned or hybrid'),
  vmCount: z.number(),
  createdAt: z.string().nullable(),
  revisedAt: z.string().nullable(),
  version: z.number().describe('Stream version: the ETag'),
});
export type PlanSummary = z.output<typeof planSummarySchema>;

export const planResponseSchema = planSummarySchema.extend({
  revision: z.number().describe('The revision in `plan`'),
  revisions: z.array(revisionInfoSchema),
  plan: z.record(z.string(), z.unknown()),
});
export type PlanResponse = z.output<typeof planResponseSchema>;

export const planWriteResponseSchema = planResponseSchema.extend({
  validation: validationReportSchema
    .nullable()
    .describe('The check against the imported board the plan names; null when that board was not imported'),
  unmodelled: z.array(z.string()).describe('XML: what the importer reported it does not model'),
  changed: z.boolean().describe('False when the revision equals the latest (nothing written)'),
});
export type PlanWriteResponse = z.output<typeof planWriteResponseSchema>;

export const planPageSchema = pageSchema(planSummarySchema);

export const singleAssignmentSchema = z.object({
  planId: z.string(),
  revision: z.number(),
  deviceId: z.string(),
  changed: z.boolean().describe('False when the device already had this revision as its desired plan'),
  warnings: z.array(z.record(z.string(), z.unknown())).describe('ACRN warnings on the device\u2019s board'),
  version: z.number().describe('Version of the device\u2019s hypervisor stream'),
});
export type SingleAssignment = z.output<typeof singleAssignmentSchema>;

export const bulkAssignmentSchema = z.object({
  planId: z.string(),
  revision: z.number(),
  matched: z.number(),
  assigned: z.number().describe('Devices whose desired plan is now this revision (changed or already)'),
  rejected: z.array(z.object({ deviceId: z.string(), code: z.string(), message: z.string() })),
  devices: z.array(
    z.object({
      deviceId: z.string(),
      outcome: z.enum(['assigned', 'unchanged', 'rejected']),
      code: z.string().nullable(),
    }),
  ),
});
export type BulkAssignment = z.output<typeof bulkAssignmentSchema>;
