import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '@hyperfleet/contracts';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { ApiError } from '../http/api-error';

/**
 * Query parameters and responses of the fleet read endpoints (/api/v1/devices, /{id}, /{id}/timeline).
 * Express hands query values over as strings, or arrays of strings when a parameter is repeated.
 */

const once = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z
    .string({
      error: (issue) => (Array.isArray(issue.input) ? 'must be given at most once' : 'must be a string'),
    })
    .pipe(schema);

/** A repeatable parameter: `?tag=a&tag=b` (and `?tag=a` alone) as a list. */
const repeatable = (item: z.ZodType<string, string>, maxItems: number) =>
  z
    .union([z.string(), z.array(z.string())], { error: 'must be a string or a repeated string' })
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(z.array(item).max(maxItems, `may be given at most ${maxItems} times`));

const booleanFlag = once(z.enum(['true', 'false'], { error: 'must be true or false' })).transform(
  (v) => v === 'true',
);

const limit = (max: number, fallback: number) =>
  once(z.string().regex(/^\d{1,6}$/, `must be an integer from 1 to ${max}`))
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, `must be an integer from 1 to ${max}`)
        .max(max, `must be an integer from 1 to ${max}`),
    )
    .default(fallback);

/** Cursors are opaque to clients; the API checks them when it decodes them (INVALID_CURSOR). */
const cursor = once(z.string().min(1, 'must not be empty').max(2048, 'is too long'));

const isoTime = once(
  z.iso.datetime({
    offset: true,
    error: 'must be an ISO-8601 date-time with a zone, e.g. 2026-03-01T08:00:00Z',
  }),
);

/** An ISO-8601 date-time as microseconds since the epoch (PostgreSQL's precision; Date.parse stops at ms). */
export function instantMicros(iso: string): bigint {
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  const seconds = Date.parse(iso.replace(/\.\d+/, ''));
  return BigInt(seconds) * 1000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

export const MAX_DEVICE_PAGE = 500;
export const MAX_TIMELINE_PAGE = 500;

export const listDevicesQuerySchema = z.object({
  class: once(z.enum(DEVICE_CLASSES, { error: `must be one of ${DEVICE_CLASSES.join(', ')}` })).optional(),
  site: once(z.string().trim().min(1, 'must not be empty').max(200)).optional(),
  tag: repeatable(z.string().trim().min(1, 'must not be empty').max(64), 20).optional(),
  /** `key:value` of an inventory attribute (split at the first colon); repeatable, all must match. */
  attr: repeatable(
    z.string().regex(/^[a-z][a-z0-9_.-]{0,63}:[\s\S]{0,256}$/, 'must be key:value, e.g. owner:ops-north'),
    20,
  ).optional(),
  hypervisorVersion: once(z.string().min(1, 'must not be empty').max(100)).optional(),
  serviceVmVersion: once(z.string().min(1, 'must not be empty').max(100)).optional(),
  online: booleanFlag.optional(),
  overBudget: booleanFlag.optional(),
  // Every prefix of a device id is itself shaped like one.
  q: once(
    z
      .string()
      .regex(
        DEVICE_ID_PATTERN,
        'must be the start of a device id (letters, digits, ".", "_", ":" or "-", starting with a letter or digit)',
      ),
  ).optional(),
  limit: limit(MAX_DEVICE_PAGE, 50),
  cursor: cursor.optional(),
});
export type ListDevicesQuery = z.output<typeof listDevicesQuerySchema>;

export const timelineQuerySchema = z
  .object({
    type: repeatable(
      z.string().regex(/^[A-Z][A-Za-z0-9]{0,99}$/, 'must be an event type, e.g. DeviceWentOnline'),
      50,
    ).optional(),
    since: isoTime.optional(),
    until: isoTime.optional(),
    limit: limit(MAX_TIMELINE_PAGE, 50),
    cursor: cursor.optional(),
  })
  .superRefine((q, ctx) => {
    if (q.since && q.until && instantMicros(q.since) >= instantMicros(q.until)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than since' });
    }
  });
export type TimelineQuery = z.output<typeof timelineQuerySchema>;

// ---- cursors -------------------------------------------------------------------------------------

const deviceCursorSchema = z.strictObject({ k: z.literal('devices'), id: z.string().min(1).max(128) });
const timelineCursorSchema = z.strictObject({
  k: z.literal('timeline'),
  /** The device the cursor was issued for. */
  d: z.string().min(1).max(128),
  /** occurred_at of the last row, exactly (microseconds, UTC). */
  at: z.iso.datetime({ precision: 6 }),
  s: z.string().min(1).max(400),
  p: z.number().int().positive(),
});
export type DeviceCursor = z.output<typeof deviceCursorSchema>;
export type TimelineCursor = z.output<typeof timelineCursorSchema>;

export function encodeCursor(value: DeviceCursor | TimelineCursor): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function invalidCursor(reason: string): ApiError {
  return new ApiError(
    400,
    'INVALID_CURSOR',
    `The cursor is not one this endpoint issued (${reason}); start again without it.`,
    { parameter: 'cursor' },
  );
}

function decode<T>(raw: string, schema: z.ZodType<T>): T {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw invalidCursor('not base64url');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('unreadable');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidCursor('wrong shape');
  return parsed.data;
}

export const decodeDeviceCursor = (raw: string): DeviceCursor => decode(raw, deviceCursorSchema);

export function decodeTimelineCursor(raw: string, deviceId: string): TimelineCursor {
  const c = decode(raw, timelineCursorSchema);
  if (c.d !== deviceId) throw invalidCursor('issued for another device');
  return c;
}

// ---- responses (for the OpenAPI document) --------------------------------------------------------

const time = z.string().describe('ISO-8601');

export const deviceSchema = z.object({
  id: z.string(),
  class: z.enum(DEVICE_CLASSES),
  site: z.string(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.string()).describe('Free-form inventory attributes'),
  provisionedAt: time,
  connectivity: z.object({
    online: z.boolean(),
    status: z.enum(['never-seen', 'online', 'offline']),
    since: time.nullable().describe('Time of the last online/offline transition'),
    lastSeenAt: time.nullable().describe('Latest fact reported by the device'),
    wentOnlineAt: time.nullable(),
    wentOfflineAt: time.nullable(),
  }),
  board: z
    .object({
      name: z.string().nullable(),
      cpuModel: z.string().nullable(),
      pcpuCount: z.number().int().nullable(),
      reportedAt: time,
    })
    .nullable()
    .describe('null until the agent reports its board inventory'),
  hypervisor: z.object({ version: z.string(), scenario: z.string(), reportedAt: time }).nullable(),
  serviceVm: z
    .object({
      osImageVersion: z.string(),
      kernelVersion: z.string().nullable(),
      bootedAt: time,
      boots: z.number().int(),
      lifecycle: z.enum(['running', 'reboot-requested', 'shutdown-requested', 'shutting-down']),
      lifecycleSince: time.nullable(),
      previousOsImageVersion: z.string().nullable().describe('The image before the last OS image change'),
      osImageChangedAt: time.nullable(),
      deviceModel: z.object({
        health: z.enum(['healthy', 'degraded', 'failed']).nullable(),
        since: time.nullable(),
        detail: z.string().nullable(),
      }),
    })
    .nullable()
    .describe('null until the Service VM reports its first boot'),
  partitionPlan: z.object({
    desired: z
      .object({
        planId: z.string(),
        revision: z.number().int(),
        assignedAt: time,
        warnings: z.number().int(),
      })
      .nullable(),
    reported: z.object({ planId: z.string(), revision: z.number().int(), reportedAt: time }).nullable(),
    inSync: z.boolean().describe('The device reports the revision it should run'),
  }),
  rtVms: z.object({
    count: z.number().int().describe('Registered RT VMs'),
    started: z.number().int(),
    overBudget: z.boolean().describe("Some RT VM's latest worst-case latency is above its budget"),
    overBudgetCount: z.number().int(),
    worstCaseUs: z
      .number()
      .nullable()
      .describe("The highest of the RT VMs' latest worst-case latencies (µs)"),
    latencyReportedAt: time.nullable(),
    budgetBreaches: z.number().int(),
    tripleFaults: z.number().int(),
  }),
  updatedAt: time.nullable().describe('Time of the latest event folded into this view'),
});
export type DeviceView = z.output<typeof deviceSchema>;

export const deviceVmSchema = z.object({
  name: z.string(),
  vmType: z
    .enum(['RTVM', 'STANDARD_VM', 'TEE_VM', 'REE_VM'])
    .describe("ACRN's vm_type. Latency budget and RT lifecycle routes apply to RTVMs only"),
  loadOrder: z
    .enum(['SERVICE_VM', 'PRE_LAUNCHED_VM', 'POST_LAUNCHED_VM'])
    .describe('SERVICE_VM: the Service VM (always `untracked`: acrnctl does not list it)'),
  state: z
    .enum(['stopped', 'started', 'suspended', 'untracked', 'unknown'])
    .describe(
      "acrnctl's state; pre-launched VMs and the Service VM, which acrnctl does not manage, are `untracked`",
    ),
  pendingOperation: z.enum(['stop', 'reset']).nullable(),
  pendingSince: time.nullable(),
  pinnedPcpus: z.array(z.number().int()),
  latencyBudgetUs: z.number().nullable().describe('RTVMs only; null for other VMs'),
  lastWorstCaseUs: z.number().nullable(),
  lastLatencyAt: time.nullable(),
  overBudget: z.boolean(),
  budgetBreaches: z.number().int(),
  lastBreachAt: time.nullable(),
  tripleFaults: z.number().int(),
  lastTripleFaultAt: time.nullable(),
  registeredAt: time,
});
export type DeviceVmView = z.output<typeof deviceVmSchema>;

export const deviceDetailSchema = deviceSchema.extend({ vms: z.array(deviceVmSchema) });
export type DeviceDetailView = z.output<typeof deviceDetailSchema>;

export const deviceListSchema = z.object({
  items: z.array(deviceSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
});
export type DeviceList = z.output<typeof deviceListSchema>;

export const timelineEntrySchema = z.object({
  eventId: z.string(),
  type: z.string(),
  streamId: z.string(),
  streamPosition: z.number().int(),
  logPosition: z.string().describe('<transactionId>/<globalPosition> in the event store'),
  occurredAt: time,
  data: z.record(z.string(), z.unknown()),
});
export type TimelineEntry = z.output<typeof timelineEntrySchema>;

export const timelineSchema = z.object({
  items: z.array(timelineEntrySchema),
  nextCursor: z.string().nullable(),
});
export type Timeline = z.output<typeof timelineSchema>;
