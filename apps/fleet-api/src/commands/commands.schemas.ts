import { COMMAND_STATUSES, FINAL_COMMAND_STATUSES, type CommandStatus } from '@hyperfleet/device-commands';
import { z } from 'zod';
import { vmNameSchema } from '@hyperfleet/contracts';
import { deviceFilterSchema } from '../fleet/device-filter';
import { deviceIdSchema } from '../devices/devices.schemas';
import { limitSchema, pageSchema } from '../scheduling/pagination';

/** Request and response shapes of device commands, their status resources and bulk commands. */

// The statuses are the store's (libs/device-commands/src/status.ts): one list for the API, the CLI and the store.
export { COMMAND_STATUSES };
export type ApiCommandStatus = CommandStatus;
export const FINAL_STATUSES = FINAL_COMMAND_STATUSES;

/** What an operator can ask of one device; also the `action` of a bulk command. */
export const DEVICE_ACTIONS = [
  'rt-vm.start',
  'rt-vm.stop',
  'rt-vm.reset',
  'rt-vm.delete',
  'service-vm.reboot',
  'service-vm.shutdown',
] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

export const DEFAULT_DELIVER_WITHIN_SECONDS = 3600;
export const MAX_DELIVER_WITHIN_SECONDS = 7 * 24 * 3600;

export const vmNameParamSchema = vmNameSchema.describe('RT VM name as ACRN knows it, e.g. RT_VM0');

const deliverWithinSeconds = z
  .int()
  .min(1)
  .max(MAX_DELIVER_WITHIN_SECONDS)
  .optional()
  .describe(
    `How long the command may wait for an offline device before it expires (default ${DEFAULT_DELIVER_WITHIN_SECONDS} s, at most 7 days)`,
  );

const reason = z.string().trim().min(1).max(256).describe('Why; the agent logs it');
const graceSeconds = z
  .int()
  .min(0)
  .max(300)
  .describe('How long user VMs get to shut down (default 60 s; the lifecycle manager waits at most 300 s)');

/** A missing body (no content-type) reaches the pipe as undefined or {}; both mean "no options". */
const optionalBody = <T extends z.ZodType>(schema: T) => z.preprocess((v) => v ?? {}, schema);

export const rtVmActionBodySchema = optionalBody(z.object({ deliverWithinSeconds }).strict());
export type RtVmActionBody = z.output<typeof rtVmActionBodySchema>;

export const rtVmStopBodySchema = optionalBody(
  z
    .object({
      force: z
        .boolean()
        .optional()
        .describe('acrnctl stop --force; refused for an RTVM (the Device Model ignores it for one)'),
      deliverWithinSeconds,
    })
    .strict(),
);
export type RtVmStopBody = z.output<typeof rtVmStopBodySchema>;

export const serviceVmActionBodySchema = optionalBody(
  z
    .object({ reason: reason.optional(), graceSeconds: graceSeconds.optional(), deliverWithinSeconds })
    .strict(),
);
export type ServiceVmActionBody = z.output<typeof serviceVmActionBodySchema>;

export const latencyBudgetBodySchema = z
  .object({
    budgetUs: z.int().min(1).max(1_000_000).describe('The new worst-case latency budget in µs'),
  })
  .strict();
export type LatencyBudgetBody = z.output<typeof latencyBudgetBodySchema>;

export const latencyBudgetResponseSchema = z.object({
  deviceId: z.string(),
  vmName: z.string(),
  budgetUs: z.number(),
  version: z.number().describe("The RT VM stream's version after the change (also the ETag)"),
});
export type LatencyBudgetResponse = z.output<typeof latencyBudgetResponseSchema>;

const replySchema = z
  .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).nullable() })
  .describe("The device's (or the domain's) answer: its reply code and sentence");

export const commandViewSchema = z.object({
  commandId: z.string(),
  batchId: z.string().nullable().describe('The bulk command this belongs to'),
  deviceId: z.string(),
  name: z.string().describe('The agent command: start-vm, stop-vm, restart-vm, delete-vm, reboot, shutdown'),
  args: z.record(z.string(), z.unknown()),
  status: z.enum(COMMAND_STATUSES),
  reply: replySchema.nullable(),
  actor: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('Who asked (credential subject and id, request id)'),
  createdAt: z.string(),
  deliverBy: z.string().describe('A queued command not sent by then expires'),
  sentAt: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  expiresAt: z.string().nullable().describe('Sent: the device must not start it after this'),
});
export type CommandView = z.output<typeof commandViewSchema>;

export const commandAcceptedSchema = z.object({
  commandId: z.string(),
  deviceId: z.string(),
  name: z.string(),
  status: z.enum(COMMAND_STATUSES),
  links: z.object({ self: z.string() }),
});
export type CommandAccepted = z.output<typeof commandAcceptedSchema>;

export const commandListSchema = pageSchema(commandViewSchema);

const WAIT_PATTERN = /^(\d{1,6})(ms|s)?$/;
export const MAX_WAIT_MS = 60_000;

/** `?wait=30s` (also `500ms`, or bare seconds): long-poll until the command is final, at most 60 s. */
export const waitSchema = z
  .string()
  .regex(WAIT_PATTERN, 'must be a duration such as 30s or 500ms')
  .transform((s) => {
    const [, n, unit] = WAIT_PATTERN.exec(s)!;
    return Math.min(MAX_WAIT_MS, unit === 'ms' ? Number(n) : Number(n) * 1000);
  })
  .describe('Wait up to this long (e.g. 30s, at most 60s) for the command to reach a final status');

export const getCommandQuerySchema = z.object({ wait: waitSchema.optional() });
export type GetCommandQuery = z.output<typeof getCommandQuerySchema>;

export const commandIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be a command id')
  .describe('Command id');

export const listCommandsQuerySchema = z.object({
  deviceId: deviceIdSchema.optional(),
  status: z.enum(COMMAND_STATUSES).optional().describe('Only commands in this status'),
  batchId: commandIdSchema.optional().describe('Only the commands of this bulk command'),
  limit: limitSchema,
  cursor: z.string().max(2048).optional().describe('nextCursor of the previous page'),
});
export type ListCommandsQuery = z.output<typeof listCommandsQuerySchema>;

export const deviceCommandsQuerySchema = listCommandsQuerySchema.omit({ deviceId: true, batchId: true });
export type DeviceCommandsQuery = z.output<typeof deviceCommandsQuerySchema>;

export const batchCommandsQuerySchema = listCommandsQuerySchema.omit({ batchId: true });
export type BatchCommandsQuery = z.output<typeof batchCommandsQuerySchema>;

// ---------------------------------------------------------------------------------------------- bulk

export const bulkArgsSchema = z
  .object({
    vmName: vmNameParamSchema.optional(),
    force: z.boolean().optional(),
    reason: reason.optional(),
    graceSeconds: graceSeconds.optional(),
  })
  .strict();
export type BulkArgs = z.output<typeof bulkArgsSchema>;

export const bulkCommandBodySchema = z
  .object({
    filter: deviceFilterSchema,
    action: z.enum(DEVICE_ACTIONS),
    args: bulkArgsSchema.default({}),
    deliverWithinSeconds,
  })
  .strict()
  .superRefine((b, ctx) => {
    const rtVm = b.action.startsWith('rt-vm.');
    if (rtVm && !b.args.vmName) {
      ctx.addIssue({ code: 'custom', path: ['args', 'vmName'], message: `${b.action} needs args.vmName` });
    }
    const allowed: Record<string, readonly string[]> = {
      'rt-vm.stop': ['vmName', 'force'],
      'service-vm.reboot': ['reason', 'graceSeconds'],
      'service-vm.shutdown': ['reason', 'graceSeconds'],
    };
    const ok = allowed[b.action] ?? ['vmName'];
    for (const key of Object.keys(b.args)) {
      if (!ok.includes(key)) {
        ctx.addIssue({ code: 'custom', path: ['args', key], message: `is not an argument of ${b.action}` });
      }
    }
  });
export type BulkCommandBody = z.output<typeof bulkCommandBodySchema>;

const countsSchema = z
  .object(
    Object.fromEntries(COMMAND_STATUSES.map((s) => [s, z.number()])) as Record<ApiCommandStatus, z.ZodNumber>,
  )
  .describe('How many of the devices are in each status');
export type StatusCounts = Record<ApiCommandStatus, number>;

export const bulkAcceptedSchema = z.object({
  batchId: z.string(),
  total: z.number().describe('Devices the filter matched (within the credential scope)'),
  counts: countsSchema,
  links: z.object({ self: z.string(), commands: z.string() }),
});
export type BulkAccepted = z.output<typeof bulkAcceptedSchema>;

export const bulkViewSchema = z.object({
  batchId: z.string(),
  action: z.string(),
  args: z.record(z.string(), z.unknown()),
  filter: z.record(z.string(), z.unknown()).nullable(),
  total: z.number(),
  counts: countsSchema,
  done: z.boolean().describe('Every device command is final'),
  undecided: z
    .number()
    .describe('Queued commands the dispatcher has not put to the domain yet (0: fanned out)'),
  createdAt: z.string(),
  actor: z.record(z.string(), z.unknown()).nullable(),
  links: z.object({ self: z.string(), commands: z.string() }),
});
export type BulkView = z.output<typeof bulkViewSchema>;
