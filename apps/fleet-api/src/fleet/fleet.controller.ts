import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DEVICE_CLASSES } from '@hyperfleet/domain';
import { deviceIdSchema, openApiSchema, problemSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
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
@Controller('api/v1/devices')
export class FleetController {
  constructor(private readonly fleet: FleetQueryService) {}

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
  list(@Query(new QueryValidationPipe(listDevicesQuerySchema)) query: ListDevicesQuery): Promise<DeviceList> {
    return this.fleet.listDevices(query);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One device with its RT VMs',
    description: 'The inventory view of the device, plus every registered RT VM (deleted ones are left out).',
  })
  @deviceIdParam
  @ApiResponse({ status: 200, description: 'The device', schema: openApiSchema(deviceDetailSchema) })
  @problem(400, 'VALIDATION_FAILED (a malformed id)')
  @problem(404, 'DEVICE_NOT_FOUND')
  get(@Param('id', idPipe) id: string): Promise<DeviceDetailView> {
    return this.fleet.getDevice(id);
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
  timeline(
    @Param('id', idPipe) id: string,
    @Query(new QueryValidationPipe(timelineQuerySchema)) query: TimelineQuery,
  ): Promise<Timeline> {
    return this.fleet.timeline(id, query);
  }
}
