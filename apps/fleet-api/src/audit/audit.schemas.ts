import { z } from 'zod';
import { ApiError } from '../http/api-error';

/** Query and response of GET /api/v1/audit. Query values arrive as strings (arrays when repeated). */

export const MAX_AUDIT_PAGE = 500;

const once = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z
    .string({
      error: (issue) => (Array.isArray(issue.input) ? 'must be given at most once' : 'must be a string'),
    })
    .pipe(schema);

const isoTime = once(
  z.iso.datetime({
    offset: true,
    error: 'must be an ISO-8601 date-time with a zone, e.g. 2026-03-01T08:00:00Z',
  }),
);

export const auditQuerySchema = z
  .object({
    actor: once(z.string().min(1).max(200)).optional(),
    credentialId: once(z.string().min(1).max(200)).optional(),
    device: once(z.string().min(1).max(128)).optional(),
    action: z
      .union([z.string(), z.array(z.string())], { error: 'must be a string or a repeated string' })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .pipe(
        z
          .array(
            z
              .string()
              .regex(
                /^[A-Z][A-Za-z0-9]{0,99}$/,
                'must be an event type or a command, e.g. SetDeviceAttributes',
              ),
          )
          .max(20, 'may be given at most 20 times'),
      )
      .optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: once(z.string().regex(/^\d{1,4}$/, `must be an integer from 1 to ${MAX_AUDIT_PAGE}`))
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_AUDIT_PAGE, `must be an integer from 1 to ${MAX_AUDIT_PAGE}`))
      .default(50),
    cursor: once(z.string().min(1).max(200)).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
    }
  });
export type AuditQuery = z.output<typeof auditQuerySchema>;

/** The cursor is the global position of the last entry of the page, opaque to clients. */
export function encodeAuditCursor(position: string): string {
  return Buffer.from(JSON.stringify({ k: 'audit', p: position }), 'utf8').toString('base64url');
}

export function decodeAuditCursor(raw: string): string {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { k?: unknown; p?: unknown };
    if (c.k === 'audit' && typeof c.p === 'string' && /^\d{1,19}$/.test(c.p)) return c.p;
  } catch {
    // answered below
  }
  throw new ApiError(
    400,
    'INVALID_CURSOR',
    'The cursor is not one this endpoint issued; start again without it.',
    {
      parameter: 'cursor',
    },
  );
}

const auditActorSchema = z.object({
  subject: z.string(),
  credentialKind: z.string().describe('api-key, jwt, device or system'),
  credentialId: z.string(),
});

export const auditEntrySchema = z.object({
  position: z.string().describe('Global position of the event in the event store'),
  at: z.string().describe('When the event was recorded (ISO-8601)'),
  eventType: z.string(),
  command: z.string().nullable().describe('The domain command that caused the event, when one did'),
  streamId: z.string(),
  streamPosition: z.number().int(),
  deviceId: z.string().nullable(),
  actor: auditActorSchema,
  requestId: z.string().nullable().describe('X-Request-Id of the HTTP request'),
  summary: z
    .record(z.string(), z.unknown())
    .describe('The event data; values longer than 200 characters of JSON are replaced by their size'),
});
export type AuditEntry = z.output<typeof auditEntrySchema>;

export const auditPageSchema = z.object({
  items: z.array(auditEntrySchema),
  nextCursor: z.string().nullable().describe('Pass back as `cursor` for older entries; null at the end'),
});
export type AuditPage = z.output<typeof auditPageSchema>;
