import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { deviceIdSchema, openApiSchema, problemSchema } from '../devices/devices.schemas';
import { setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { FleetQueryService } from './fleet-query.service';
import {
  MAX_DEVICE_PAGE,
  MAX_TIMELINE_PAGE,
  deviceDetailSchema,
  deviceListSchema,
  listDevicesQuerySchema,
  timelineQuerySchema,
  timelineSchema,
  type DeviceDetailView,
  type DeviceList,
  type ListDevicesQuery,
  type Timeline,
  type TimelineQuery,
} from './fleet.schemas';
import { QueryValidationPipe } from './query-validation.pipe';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const badRequest = problem(
  400,
  'VALIDATION_FAILED (details.issues name each bad or unknown parameter) or INVALID_CURSOR',
);
const optional = (name: string, description: string, schema: Record<string, unknown>) =>
  ApiQuery({ name, required: false, description, schema });
const pageQueries = (max: number) => [
  optional('limit', `Page size, 1 to ${max}`, { type: 'integer', minimum: 1, maximum: max, default: 50 }),
  optional('cursor', "The previous page's `nextCursor`", { type: 'string' }),
];
const applyAll =
  (...decorators: MethodDecorator[]): MethodDecorator =>
  (target, key, descriptor) => {
    for (const d of decorators) d(target, key, descriptor);
  };

const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');
const deviceIdParam = ApiParam({
  name: 'id',
  description: 'Device id',
  schema: openApiSchema(deviceIdSchema),
});

/**
 * The fleet as operators see it: the device inventory (projection fleet-inventory) and each device's
 * timeline. Registered next to DevicesController on the same path; `:id` matches one path segment, so
 * `GET /api/v1/devices/{id}` and `/{id}/timeline` never take `/{id}/credentials`.
 */
@ApiTags('devices')
@Requires('fleet:read')
@Controller('api/v1/devices')
export class FleetController {
  constructor(
    private readonly fleet: FleetQueryService,
    private readonly scope: DeviceScope,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List devices, filtered, a page at a time',
    description:
      'Devices sorted by id (byte order), from the fleet inventory read model (it follows the event store ' +
      'within moments). Filters combine with AND; `tag` may be repeated and then every tag must be present. ' +
      'Pages are keyset pages: pass `nextCursor` back as `cursor` until it is null. Unknown parameters are ' +
      'refused (400), so a misspelt filter never passes silently.',
  })
  @applyAll(
    optional('class', 'Device class', { type: 'string', enum: [...DEVICE_CLASSES] }),
    optional('site', 'Site, exactly', { type: 'string' }),
    ApiQuery({
      name: 'tag',
      required: false,
      description: 'A tag the device has; repeat for several (all must match)',
      schema: { type: 'array', items: { type: 'string' }, maxItems: 20 },
      style: 'form',
      explode: true,
    }),
    ApiQuery({
      name: 'attr',
      required: false,
      description:
        'An inventory attribute as `key:value` (split at the first colon); repeat for several (all must match)',
      schema: { type: 'array', items: { type: 'string' }, maxItems: 20 },
      style: 'form',
      explode: true,
    }),
    optional('hypervisorVersion', 'Running hypervisor version, exactly', { type: 'string' }),
    optional('serviceVmVersion', 'Running Service VM OS image version, exactly', { type: 'string' }),
    optional('online', 'true: online now; false: offline or never seen', { type: 'boolean' }),
    optional('overBudget', "true: some RT VM's latest worst-case latency is above its budget", {
      type: 'boolean',
    }),
    optional('q', 'Device id prefix', { type: 'string', maxLength: 128 }),
    ...pageQueries(MAX_DEVICE_PAGE),
  )
  @ApiResponse({ status: 200, description: 'A page of devices', schema: openApiSchema(deviceListSchema) })
  @badRequest
  list(
    @Query(new QueryValidationPipe(listDevicesQuerySchema)) query: ListDevicesQuery,
    @CurrentActor() actor: Actor,
  ): Promise<DeviceList> {
    return this.fleet.listDevices(query, actor.scope);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One device with its RT VMs',
    description: 'The inventory view of the device, plus every registered RT VM (deleted ones are left out).',
  })
  @deviceIdParam
  @ApiResponse({
    status: 200,
    description:
      'The device. `ETag` is the version of its Hypervisor stream in the event store (send it as `If-Match` ' +
      'on label and attribute writes).',
    schema: openApiSchema(deviceDetailSchema),
    headers: { ETag: { description: 'Hypervisor stream version, e.g. "7"', schema: { type: 'string' } } },
  })
  @problem(400, 'VALIDATION_FAILED (a malformed id)')
  @problem(404, 'DEVICE_NOT_FOUND')
  async get(
    @Param('id', idPipe) id: string,
    @Res({ passthrough: true }) res: Response,
    @CurrentActor() actor: Actor,
  ): Promise<DeviceDetailView> {
    await this.scope.assertVisible(actor, id);
    const device = await this.fleet.getDevice(id);
    // From hf.streams, the source of truth: the read model may lag the stream an If-Match is checked against.
    setEtag(res, await this.fleet.hypervisorVersion(id));
    return device;
  }

  @Get(':id/timeline')
  @ApiOperation({
    summary: "A device's events, newest first",
    description:
      'Every event of the device (Hypervisor, Service VM and RT VM streams) from the device timeline read ' +
      'model, newest first by the time it happened. `since` is inclusive and `until` exclusive.',
  })
  @deviceIdParam
  @applyAll(
    ApiQuery({
      name: 'type',
      required: false,
      description: 'Only these event types (repeatable), e.g. RtVmLatencyBudgetBreached',
      schema: { type: 'array', items: { type: 'string' } },
      style: 'form',
      explode: true,
    }),
    optional('since', 'From this time (ISO-8601, inclusive)', { type: 'string', format: 'date-time' }),
    optional('until', 'Before this time (ISO-8601, exclusive)', { type: 'string', format: 'date-time' }),
    ...pageQueries(MAX_TIMELINE_PAGE),
  )
  @ApiResponse({ status: 200, description: 'A page of events', schema: openApiSchema(timelineSchema) })
  @badRequest
  @problem(404, 'DEVICE_NOT_FOUND')
  async timeline(
    @Param('id', idPipe) id: string,
    @Query(new QueryValidationPipe(timelineQuerySchema)) query: TimelineQuery,
    @CurrentActor() actor: Actor,
  ): Promise<Timeline> {
    await this.scope.assertVisible(actor, id);
    return this.fleet.timeline(id, query);
  }
}
