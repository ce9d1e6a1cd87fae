import { z } from 'zod';
import { vmNameSchema } from '@hyperfleet/contracts';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { DEFAULT_LATENCY_SLO, ROLLUP_BUCKETS, type RollupBucket } from '@hyperfleet/read-models';
import { deviceIdSchema } from '../devices/devices.schemas';

/**
 * Query parameters of /api/v1/telemetry/* and /api/v1/slo/latency, and the shapes of their answers:
 * validation and the OpenAPI document come from these.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The longest range a rollup query may span, per bucket (about 1,400–2,200 points per VM). */
export const MAX_ROLLUP_RANGE_MS: Readonly<Record<RollupBucket, number>> = {
  '1m': DAY,
  '5m': 7 * DAY,
  '1h': 90 * DAY,
};
/** The longest range a merged histogram may span. */
export const MAX_HISTOGRAM_RANGE_MS = 31 * DAY;
/** Without `from`: this much before `to`. */
export const DEFAULT_RANGE_MS = HOUR;

export const ROLLUP_BUCKET_NAMES = Object.keys(ROLLUP_BUCKETS) as [RollupBucket, ...RollupBucket[]];
export const SLO_WINDOW_NAMES = Object.keys(DEFAULT_LATENCY_SLO.windows) as [string, ...string[]];

const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;

export const isoTimeSchema = z.iso
  .datetime({
    offset: true,
    message: 'must be an ISO-8601 date-time with a time zone, e.g. 2025-02-03T08:00:00Z',
  })
  .describe('ISO-8601 date-time with a time zone');

export const vmParamSchema = vmNameSchema.describe('VM name, e.g. RT_VM0; all VMs of the device when absent');
export const bucketParamSchema = z
  .enum(ROLLUP_BUCKET_NAMES, { message: oneOf(ROLLUP_BUCKET_NAMES) })
  .describe('Resolution: 1m (range ≤ 24 h), 5m (≤ 7 days) or 1h (≤ 90 days); default 1m');
export const windowParamSchema = z
  .enum(SLO_WINDOW_NAMES, { message: oneOf(SLO_WINDOW_NAMES) })
  .describe('SLO window ending at the last whole minute; default 1h');
export const classParamSchema = z
  .enum(DEVICE_CLASSES, { message: oneOf(DEVICE_CLASSES) })
  .describe('Only devices of this class');
export const siteParamSchema = z.string().trim().min(1).max(200).describe('Only devices at this site');
export const limitParamSchema = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
  .describe('Worst offenders listed, 1–100; default 10');
export const objectiveParamSchema = z
  .string()
  .regex(/^(0?\.\d+)$/, 'must be a fraction between 0 and 1, e.g. 0.999')
  .transform(Number)
  .pipe(z.number().gt(0, 'must be above 0').lt(1, 'must be below 1'))
  .describe(`Override the objective (fraction of good minutes); default ${DEFAULT_LATENCY_SLO.objective}`);
export const defaultBudgetParamSchema = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a positive number of microseconds')
  .transform(Number)
  .pipe(z.number().gt(0, 'must be above 0').max(1e6, 'must be at most 1000000'))
  .describe(
    `Override the budget (µs) of RT VMs without a known one; default ${DEFAULT_LATENCY_SLO.defaultBudgetUs}`,
  );

const span = (ms: number) =>
  ms % DAY === 0 ? `${ms / DAY} day${ms === DAY ? '' : 's'}` : `${+(ms / HOUR).toFixed(2)} hours`;

/** Resolves from/to (defaults: to = now, from = to − 1 h) and checks their order and span. */
function resolveRange(
  q: { from?: string; to?: string },
  maxMs: number,
  limitSentence: string,
  ctx: z.RefinementCtx,
): { from: Date; to: Date } | null {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from.getTime() > to.getTime()) {
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `must not be after to (from ${from.toISOString()}, to ${to.toISOString()})`,
    });
    return null;
  }
  if (to.getTime() - from.getTime() > maxMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `the range from ${from.toISOString()} to ${to.toISOString()} spans ${span(to.getTime() - from.getTime())}; ${limitSentence} it may span at most ${span(maxMs)}`,
    });
    return null;
  }
  return { from, to };
}

const rangeShape = {
  from: isoTimeSchema.optional().describe('Start (inclusive); default: one hour before `to`'),
  to: isoTimeSchema.optional().describe('End (exclusive); default: now'),
};

export const rollupsQuerySchema = z
  .object({
    deviceId: deviceIdSchema,
    vm: vmParamSchema.optional(),
    bucket: bucketParamSchema.optional(),
    ...rangeShape,
  })
  .strict()
  .transform((q, ctx) => {
    const bucket = q.bucket ?? '1m';
    const range = resolveRange(q, MAX_ROLLUP_RANGE_MS[bucket], `with bucket=${bucket}`, ctx);
    if (!range) return z.NEVER;
    return { deviceId: q.deviceId, vmName: q.vm, bucket, ...range };
  });
export type RollupsQuery = z.output<typeof rollupsQuerySchema>;

export const histogramQuerySchema = z
  .object({ deviceId: deviceIdSchema, vm: vmParamSchema.optional(), ...rangeShape })
  .strict()
  .transform((q, ctx) => {
    const range = resolveRange(q, MAX_HISTOGRAM_RANGE_MS, 'for a histogram', ctx);
    if (!range) return z.NEVER;
    return { deviceId: q.deviceId, vmName: q.vm, ...range };
  });
export type HistogramQuery = z.output<typeof histogramQuerySchema>;

export const sloQuerySchema = z
  .object({
    window: windowParamSchema.optional(),
    class: classParamSchema.optional(),
    site: siteParamSchema.optional(),
    limit: limitParamSchema.optional(),
    objective: objectiveParamSchema.optional(),
    defaultBudgetUs: defaultBudgetParamSchema.optional(),
  })
  .strict();
export type SloQuery = z.output<typeof sloQuerySchema>;

// ------------------------------------------------------------------------------------------ answers

const nullableNumber = z.number().nullable();

const rollupPointSchema = z.object({
  start: z.string().describe('Start of the bucket (UTC-aligned)'),
  samples: z.number().describe('Telemetry samples (CPU, memory)'),
  cpuPercent: z.object({ avg: nullableNumber, max: nullableNumber }),
  memoryBytes: z.object({ avg: nullableNumber, max: nullableNumber }),
  latencyUs: z
    .object({
      observations: z
        .number()
        .describe('Cyclictest loops of health reports + telemetry samples with RT latency'),
      min: nullableNumber,
      avg: nullableNumber,
      max: nullableNumber.describe('Worst case: what the latency SLO compares'),
      p99: nullableNumber.describe('Estimated from the latency histogram'),
      overflow: z.number().describe('Observations at or above the last histogram edge (2000 µs)'),
    })
    .describe('RT latency; null figures for VMs without latency data'),
  healthReports: z.number().describe('Health-report windows counted in the bucket'),
});

export const rollupsResponseSchema = z.object({
  deviceId: z.string(),
  vm: z.string().nullable(),
  bucket: z.enum(ROLLUP_BUCKET_NAMES),
  from: z.string(),
  to: z.string(),
  series: z.array(z.object({ vmName: z.string(), points: z.array(rollupPointSchema) })),
});

export const histogramResponseSchema = z.object({
  deviceId: z.string(),
  vm: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  bucketEdgesUs: z.array(z.number()),
  buckets: z.array(
    z.object({
      fromUs: z.number(),
      toUs: z.number().nullable().describe('null: the overflow'),
      count: z.number(),
    }),
  ),
  total: z.number(),
  minutes: z.number().describe('Minutes with latency data'),
  latencyUs: z.object({
    min: nullableNumber,
    avg: nullableNumber,
    max: nullableNumber,
    p50: nullableNumber,
    p90: nullableNumber,
    p99: nullableNumber,
    p999: nullableNumber,
  }),
});

const errorBudgetSchema = z.object({
  allowedBadMinutes: z.number(),
  badMinutes: z.number(),
  remaining: z.number().describe('1 − burnRate; negative when overspent'),
  burnRate: z.number().describe('Bad-minute ratio / allowed ratio; 1 spends exactly the budget'),
});

export const sloResponseSchema = z.object({
  slo: z.object({ description: z.string(), objective: z.number(), defaultBudgetUs: z.number() }),
  window: z.string(),
  from: z.string(),
  to: z.string(),
  fleet: z.object({
    devices: z.number(),
    rtVms: z.number(),
    rtVmsMeetingObjective: z.number(),
    minutes: z.number().describe('Minutes with latency data, all RT VMs'),
    badMinutes: z.number(),
    compliance: nullableNumber,
    meetsObjective: z.boolean().nullable(),
    errorBudget: errorBudgetSchema,
  }),
  worstOffenders: z.array(
    z.object({
      deviceId: z.string(),
      vmName: z.string(),
      deviceClass: z.string().nullable(),
      site: z.string().nullable(),
      minutes: z.number(),
      badMinutes: z.number(),
      worstLatencyUs: z.number(),
      budgetUs: z.number(),
      budgetKnown: z.boolean(),
      compliance: nullableNumber,
      meetsObjective: z.boolean().nullable(),
      coverage: z.number().describe('Minutes with data / minutes in the window'),
      worstToBudget: z.number(),
      errorBudget: errorBudgetSchema,
    }),
  ),
});
