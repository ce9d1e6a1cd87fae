import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Injectable, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Pool } from 'pg';
import type { CommandName } from '@hyperfleet/contracts';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { PG_POOL } from '@hyperfleet/platform';
import { CurrentActor, Requires, commandActor, type Actor } from '../auth/auth.types';
import { openApiSchema, problemSchema } from '../devices/devices.schemas';
import { DeviceFilterResolver } from '../fleet/device-filter';
import { QueryValidationPipe } from '../fleet/query-validation.pipe';
import { ApiError } from '../http/api-error';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { queryParams } from '../telemetry/openapi-params';
import { BulkCommandDispatcher } from './bulk-dispatcher';
import {
  COMMAND_STATUSES,
  DEFAULT_DELIVER_WITHIN_SECONDS,
  FINAL_STATUSES,
  batchCommandsQuerySchema,
  bulkAcceptedSchema,
  bulkCommandBodySchema,
  bulkViewSchema,
  commandIdSchema,
  commandListSchema,
  type BatchCommandsQuery,
  type BulkAccepted,
  type BulkCommandBody,
  type BulkView,
  type StatusCounts,
} from './commands.schemas';
import { planAction } from './device-actions';
import { DeviceCommandsService } from './device-commands.service';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const batchIdPipe = new ZodValidationPipe(commandIdSchema, 'path');

export const batchLink = (batchId: string) => `/api/v1/bulk-commands/${encodeURIComponent(batchId)}`;
const links = (batchId: string) => ({ self: batchLink(batchId), commands: `${batchLink(batchId)}/commands` });

export function emptyCounts(): StatusCounts {
  return Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

@Injectable()
export class BulkCommandsService {
  constructor(
    private readonly store: DeviceCommandStore,
    private readonly resolver: DeviceFilterResolver,
    private readonly dispatcher: BulkCommandDispatcher,
    private readonly commands: DeviceCommandsService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /** Resolves the filter, records one queued command per device under one batch, and wakes the dispatcher. */
  async create(actor: Actor, body: BulkCommandBody): Promise<BulkAccepted> {
    const deviceIds = await this.resolver.resolve(body.filter, actor.scope);
    const batchId = randomUUID();
    const who = commandActor(actor);
    const deliverBy = new Date(
      Date.now() + (body.deliverWithinSeconds ?? DEFAULT_DELIVER_WITHIN_SECONDS) * 1000,
    );
    const commands = deviceIds.map((deviceId) => {
      const planned = planAction(body.action, deviceId, body.args);
      return {
        commandId: randomUUID(),
        deviceId,
        name: planned.name as CommandName,
        args: planned.args,
        actor: who,
        deliverBy,
        batchId,
      };
    });
    await this.store.recordMany(commands, {
      batchId,
      action: body.action,
      args: body.args,
      filter: body.filter,
      actor: who,
      total: deviceIds.length,
    });
    this.dispatcher.poke();
    return {
      batchId,
      total: deviceIds.length,
      counts: { ...emptyCounts(), queued: deviceIds.length },
      links: links(batchId),
    };
  }

  async get(batchId: string): Promise<BulkView> {
    const b = await this.store.getBatch(batchId);
    if (!b) throw batchNotFound(batchId);
    const [statusCounts, undecided] = await Promise.all([
      this.store.batchCounts(batchId),
      this.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM hf.commands WHERE batch_id = $1 AND status = 'queued' AND decided_at IS NULL`,
        [batchId],
      ),
    ]);
    const counts: StatusCounts = { ...emptyCounts(), ...statusCounts };
    const final = FINAL_STATUSES.reduce((n, s) => n + counts[s], 0);
    return {
      batchId: b.batchId,
      action: b.action,
      args: (b.args ?? {}) as Record<string, unknown>,
      filter: (b.filter ?? null) as Record<string, unknown> | null,
      total: b.total,
      counts,
      done: final >= b.total,
      undecided: Number(undecided.rows[0]?.n ?? 0),
      createdAt: b.createdAt,
      actor: (b.actor ?? null) as Record<string, unknown> | null,
      links: links(b.batchId),
    };
  }

  async commandsOf(actor: Actor, batchId: string, q: BatchCommandsQuery) {
    if (!(await this.store.getBatch(batchId))) throw batchNotFound(batchId);
    return this.commands.list(actor, { ...q, batchId });
  }
}

export function batchNotFound(batchId: string): ApiError {
  return new ApiError(404, 'BULK_COMMAND_NOT_FOUND', `Bulk command ${batchId} does not exist`, { batchId });
}

@ApiTags('commands')
@Controller('api/v1/bulk-commands')
export class BulkCommandsController {
  constructor(private readonly bulk: BulkCommandsService) {}

  @Post()
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({
    summary: 'The same command to every device matching a filter',
    description:
      'Answers at once with the batch id and the number of devices the filter matched within the ' +
      "credential's scope; a dispatcher then lets the domain decide each device's command (rejections are " +
      'counted as rejected) and the gateway sends the accepted ones. Follow it at `links.self`.',
  })
  @ApiBody({ schema: openApiSchema(bulkCommandBodySchema) })
  @ApiResponse({ status: 202, description: 'Recorded', schema: openApiSchema(bulkAcceptedSchema) })
  @problem(
    400,
    'VALIDATION_FAILED (an unknown action, a missing args.vmName, an empty filter) or MALFORMED_JSON',
  )
  async create(
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) res: Response,
    @Body(new ZodValidationPipe(bulkCommandBodySchema, 'body')) body: BulkCommandBody,
  ): Promise<BulkAccepted> {
    const a = await this.bulk.create(actor, body);
    res.setHeader('Location', a.links.self);
    return a;
  }

  @Get(':batchId')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'A bulk command: what it asked and how many devices are in each status' })
  @ApiParam({ name: 'batchId', schema: openApiSchema(commandIdSchema) })
  @ApiResponse({ status: 200, description: 'The bulk command', schema: openApiSchema(bulkViewSchema) })
  @problem(404, 'BULK_COMMAND_NOT_FOUND')
  get(@Param('batchId', batchIdPipe) batchId: string): Promise<BulkView> {
    return this.bulk.get(batchId);
  }

  @Get(':batchId/commands')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'The per-device commands of a bulk command, newest first, a page at a time' })
  @ApiParam({ name: 'batchId', schema: openApiSchema(commandIdSchema) })
  @queryParams(
    { name: 'deviceId', schema: batchCommandsQuerySchema.shape.deviceId },
    { name: 'status', schema: batchCommandsQuerySchema.shape.status },
    { name: 'limit', schema: batchCommandsQuerySchema.shape.limit },
    { name: 'cursor', schema: batchCommandsQuerySchema.shape.cursor },
  )
  @ApiResponse({ status: 200, description: 'A page of commands', schema: openApiSchema(commandListSchema) })
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'BULK_COMMAND_NOT_FOUND')
  commands(
    @CurrentActor() actor: Actor,
    @Param('batchId', batchIdPipe) batchId: string,
    @Query(new QueryValidationPipe(batchCommandsQuerySchema)) q: BatchCommandsQuery,
  ) {
    return this.bulk.commandsOf(actor, batchId, q);
  }
}
