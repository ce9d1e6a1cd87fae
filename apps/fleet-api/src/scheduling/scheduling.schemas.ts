import { z } from 'zod';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { cursorSchema, limitSchema, pageSchema } from './pagination';

/** Query and response shapes of /api/v1/scheduling: validation and the OpenAPI document come from these. */

export const driftQuerySchema = z
  .object({
    class: z.enum(DEVICE_CLASSES).optional().describe('Only devices of this class'),
    site: z.string().trim().min(1).max(200).optional().describe('Only devices at this site'),
    limit: limitSchema,
    cursor: cursorSchema(1).optional(),
  })
  .strict();
export type DriftQuery = z.output<typeof driftQuerySchema>;

const planRef = z.object({ planId: z.string(), revision: z.int() });

const violationSchema = z.object({
  code: z.string().describe('Hyperfleet rule code (docs/acrn-rules.md)'),
  severity: z.enum(['error', 'warning']),
  group: z.string(),
  vms: z.array(z.string()),
  pcpus: z.array(z.int()),
  message: z.string(),
});

const pcpuSchema = z.object({
  pcpuId: z.int(),
  onBoard: z.boolean().describe('False when the plan names a pCPU the board does not have'),
  coreId: z.int().nullable(),
  vms: z.array(z.string()).describe('VMs running on the pCPU'),
  owners: z.array(
    z.object({
      vm: z.string(),
      vmId: z.int(),
      loadOrder: z.string(),
      vmType: z.string(),
      vcpu: z.int(),
      realTime: z.boolean(),
      implicit: z.boolean().describe("The Service VM's implicit share (ACRN's cpu_affinity allocator)"),
    }),
  ),
  shared: z.boolean(),
});

const vmSchema = z.object({
  vm: z.string(),
  vmId: z.int(),
  loadOrder: z.string(),
  vmType: z.string(),
  lapicPassthrough: z.boolean(),
  implicitAffinity: z.boolean(),
  pcpus: z.array(z.int()).describe('Effective cpu_affinity, in vCPU order'),
  vcpus: z.array(
    z.object({
      vcpu: z.int(),
      pcpuId: z.int(),
      realTime: z.boolean(),
      clos: z.int().nullable().describe('CLOS id (allocateClos); null when no cache policy names the vCPU'),
      closMasks: z
        .record(z.string(), z.string())
        .nullable()
        .describe('Capacity mask per cache, L<level>:<id>'),
    }),
  ),
});

const allocationSchema = z.object({
  closNeeded: z.int().nullable(),
  closAvailable: z.int().nullable().describe("Smallest clos_number of the board's CAT caches"),
  pcpus: z.array(pcpuSchema),
  vms: z.array(vmSchema),
});

export const driftReasonSchema = z
  .enum(['PLAN_NOT_REPORTED', 'PLAN_MISMATCH', 'PLAN_VIOLATIONS'])
  .describe(
    'PLAN_NOT_REPORTED: a plan is assigned, the device reports none; PLAN_MISMATCH: it reports another plan id or ' +
      'revision; PLAN_VIOLATIONS: the assigned revision breaks an error-severity ACRN rule on the current board',
  );

export const schedulingDeviceResponseSchema = z.object({
  deviceId: z.string(),
  deviceClass: z.string().nullable(),
  site: z.string().nullable(),
  tags: z.array(z.string()),
  board: z.object({ name: z.string(), pcpus: z.int(), reportedAt: z.string().nullable() }).nullable(),
  assigned: planRef
    .extend({
      assignedAt: z.string().nullable(),
      planKnown: z.boolean().describe('False until the plan revision itself has been projected'),
      warningsAtAssignment: z.array(violationSchema),
    })
    .nullable(),
  reported: planRef.extend({ reportedAt: z.string().nullable(), planKnown: z.boolean() }).nullable(),
  planStatus: z.enum(['unassigned', 'not-reported', 'mismatch', 'in-sync']),
  drift: z.boolean(),
  driftReasons: z.array(driftReasonSchema),
  violations: z
    .array(violationSchema)
    .describe('Every violation of the assigned plan on the board the device reports now, errors first'),
  errorCount: z.int(),
  warningCount: z.int(),
  allocation: z.object({ assigned: allocationSchema.nullable(), reported: allocationSchema.nullable() }),
  rtPinning: z.array(
    z.object({
      vmName: z.string(),
      reportedPcpus: z.array(z.int()).nullable().describe('RtVmRegistered.pinnedPcpus'),
      assignedPcpus: z.array(z.int()).nullable().describe('cpu_affinity in the assigned plan'),
      reportedPlanPcpus: z.array(z.int()).nullable().describe('cpu_affinity in the reported plan'),
      status: z.enum(['match', 'mismatch', 'not-in-plan', 'not-reported', 'no-plan']),
    }),
  ),
  pinningMismatch: z.boolean(),
  updatedAt: z.string(),
});
export type SchedulingDeviceResponse = z.output<typeof schedulingDeviceResponseSchema>;

export const driftItemSchema = z.object({
  deviceId: z.string(),
  deviceClass: z.string().nullable(),
  site: z.string().nullable(),
  planStatus: z.string(),
  driftReasons: z.array(driftReasonSchema),
  assigned: planRef.nullable(),
  reported: planRef.nullable(),
  errorCount: z.int(),
  updatedAt: z.string(),
});
export type DriftItem = z.output<typeof driftItemSchema>;
export const driftPageSchema = pageSchema(driftItemSchema);
