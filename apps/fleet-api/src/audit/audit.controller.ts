import { Controller, Get, Inject, Injectable, Module, Query, type OnModuleInit } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { CurrentActor, Requires, UNSCOPED, type Actor, type CredentialScope } from '../auth/auth.types';
import { openApiSchema, problemSchema } from '../devices/devices.schemas';
import { scopeCondition } from '../fleet/device-filter';
import { QueryValidationPipe } from '../fleet/query-validation.pipe';
import { AUDIT_MIGRATION_SET } from './audit.migrations';
import {
  MAX_AUDIT_PAGE,
  auditPageSchema,
  auditQuerySchema,
  decodeAuditCursor,
  encodeAuditCursor,
  type AuditEntry,
  type AuditPage,
  type AuditQuery,
} from './audit.schemas';

/** Values whose JSON is longer than this are left out of an entry's summary (plans, boards). */
const SUMMARY_VALUE_LIMIT = 200;

interface AuditRow {
  global_position: string;
  recorded_at: Date;
  event_type: string;
  stream_id: string;
  stream_position: string;
  data: Record<string, unknown>;
  command: string | null;
  device_id: string | null;
  actor: { subject?: unknown; credentialKind?: unknown; credentialId?: unknown; requestId?: unknown };
}

export function summarise(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const size = JSON.stringify(value)?.length ?? 0;
    out[key] = size > SUMMARY_VALUE_LIMIT ? `(${size} characters of JSON left out)` : value;
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The audit trail, read from hf.events directly: the event store is the source of truth, and the
 * actor of every operator command rides in the metadata of the events it caused (`metadata.actor`).
 * Every condition repeats `metadata ? 'actor'` and the expressions of the audit indexes exactly, so
 * the planner can use them (see audit.migrations.ts).
 */
@Injectable()
export class AuditQueries implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.infra.config.migrateOnStart) await runMigrations(this.pool, AUDIT_MIGRATION_SET);
  }

  /**
   * A page of entries, newest first. For a credential scoped to sites or device classes, entries of
   * devices outside the scope are left out (there, those devices do not exist); entries of no device
   * (API keys, plans, boards) stay.
   */
  async list(q: AuditQuery, scope: CredentialScope = UNSCOPED): Promise<AuditPage> {
    const params: unknown[] = [];
    const where = [`e.metadata ? 'actor'`];
    if (scope.sites || scope.deviceClasses) {
      where.push(
        `((e.metadata->>'deviceId') IS NULL OR EXISTS (SELECT 1 FROM rm.inventory_devices d
           WHERE d.device_id = (e.metadata->>'deviceId') AND ${scopeCondition(scope, params)}))`,
      );
    }
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (q.actor) add((p) => `(e.metadata->'actor'->>'subject') = ${p}`, q.actor);
    if (q.credentialId) add((p) => `(e.metadata->'actor'->>'credentialId') = ${p}`, q.credentialId);
    if (q.device) add((p) => `(e.metadata->>'deviceId') = ${p}`, q.device);
    if (q.action?.length) {
      add(
        (p) => `(e.event_type = ANY(${p}::text[]) OR (e.metadata->>'command') = ANY(${p}::text[]))`,
        q.action,
      );
    }
    if (q.from) add((p) => `e.recorded_at >= ${p}::timestamptz`, q.from);
    if (q.to) add((p) => `e.recorded_at < ${p}::timestamptz`, q.to);
    if (q.cursor) add((p) => `e.global_position < ${p}::bigint`, decodeAuditCursor(q.cursor));
    params.push(q.limit + 1);
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT e.global_position::text AS global_position, e.recorded_at, e.event_type, e.stream_id,
              e.stream_position::text AS stream_position, e.data,
              e.metadata->>'command' AS command, e.metadata->>'deviceId' AS device_id,
              e.metadata->'actor' AS actor
         FROM hf.events e
        WHERE ${where.join(' AND ')}
        ORDER BY e.global_position DESC
        LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toEntry),
      nextCursor: rows.length > q.limit ? encodeAuditCursor(page[page.length - 1]!.global_position) : null,
    };
  }
}

function toEntry(r: AuditRow): AuditEntry {
  const requestId = text(r.actor.requestId);
  return {
    position: r.global_position,
    at: r.recorded_at.toISOString(),
    eventType: r.event_type,
    command: r.command,
    streamId: r.stream_id,
    streamPosition: Number(r.stream_position),
    deviceId: r.device_id,
    actor: {
      subject: text(r.actor.subject),
      credentialKind: text(r.actor.credentialKind),
      credentialId: text(r.actor.credentialId),
    },
    requestId: requestId || null,
    summary: summarise(r.data),
  };
}

const optional = (name: string, description: string, schema: Record<string, unknown>) =>
  ApiQuery({ name, required: false, description, schema });

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditQueries) {}

  @Get()
  @Requires('audit:read')
  @ApiOperation({
    summary: 'Who did what: the events operator commands caused, newest first',
    description:
      'Read from the event store itself (the source of truth), not from a copy: every event whose metadata ' +
      'names an actor (API key, JWT, or the API acting for itself), with the command, device and request ' +
      'id. Filters combine with AND. Keyset pages: pass `nextCursor` back as `cursor`.',
  })
  @optional('actor', 'The actor subject (API key name or JWT sub), exactly', { type: 'string' })
  @optional('credentialId', 'The API key id or JWT id, exactly', { type: 'string' })
  @optional('device', 'The device id, exactly', { type: 'string' })
  @ApiQuery({
    name: 'action',
    required: false,
    description: 'An event type (DeviceAttributesChanged) or command (SetDeviceAttributes); repeatable (any)',
    schema: { type: 'array', items: { type: 'string' }, maxItems: 20 },
    style: 'form',
    explode: true,
  })
  @optional('from', 'Recorded at or after (ISO-8601)', { type: 'string', format: 'date-time' })
  @optional('to', 'Recorded before (ISO-8601)', { type: 'string', format: 'date-time' })
  @optional('limit', `Page size, 1 to ${MAX_AUDIT_PAGE}`, {
    type: 'integer',
    minimum: 1,
    maximum: MAX_AUDIT_PAGE,
    default: 50,
  })
  @optional('cursor', "The previous page's `nextCursor`", { type: 'string' })
  @ApiResponse({
    status: 200,
    description: 'A page of audit entries',
    schema: openApiSchema(auditPageSchema),
  })
  @ApiResponse({
    status: 400,
    description: 'VALIDATION_FAILED or INVALID_CURSOR',
    schema: openApiSchema(problemSchema),
  })
  list(
    @Query(new QueryValidationPipe(auditQuerySchema)) query: AuditQuery,
    @CurrentActor() actor: Actor,
  ): Promise<AuditPage> {
    return this.audit.list(query, actor.scope);
  }
}

/** GET /api/v1/audit and its indexes on hf.events (migration set `audit`). */
@Module({ controllers: [AuditController], providers: [AuditQueries] })
export class AuditApiModule {}
