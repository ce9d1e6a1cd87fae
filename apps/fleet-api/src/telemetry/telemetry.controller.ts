import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { deviceIdSchema, openApiSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { problem400, queryParams } from './openapi-params';
import { TelemetryQueryService } from './telemetry-query.service';
import {
  bucketParamSchema,
  histogramQuerySchema,
  histogramResponseSchema,
  isoTimeSchema,
  rollupsQuerySchema,
  rollupsResponseSchema,
  vmParamSchema,
  type HistogramQuery,
  type RollupsQuery,
} from './telemetry.schemas';

const RANGE_PARAMS = [
  { name: 'deviceId', schema: deviceIdSchema, required: true },
  { name: 'vm', schema: vmParamSchema },
  { name: 'from', schema: isoTimeSchema, description: 'Start (inclusive); default: one hour before `to`' },
  { name: 'to', schema: isoTimeSchema, description: 'End (exclusive); default: now' },
];

@ApiTags('telemetry')
@Requires('fleet:read')
@Controller('api/v1/telemetry')
export class TelemetryController {
  constructor(
    private readonly telemetry: TelemetryQueryService,
    private readonly scope: DeviceScope,
  ) {}

  @Get('rollups')
  @ApiOperation({
    summary: 'CPU, memory and RT latency of a device per 1m, 5m or 1h, rolled up from minute rows',
    description:
      'One series per VM (or the one `vm`), points over [from, to) aligned to UTC bucket boundaries. ' +
      'Latency figures count cyclictest loops of health reports and telemetry samples; p99 is estimated ' +
      'from the histogram (pessimistically re-bucketed). A range is at most 24 h at 1m, 7 days at 5m, 90 days at 1h.',
  })
  @queryParams(...RANGE_PARAMS, { name: 'bucket', schema: bucketParamSchema })
  @ApiResponse({ status: 200, description: 'The rollups', schema: openApiSchema(rollupsResponseSchema) })
  @problem400
  @ApiResponse({ status: 404, description: 'DEVICE_NOT_FOUND: outside the credential’s scope' })
  async rollups(
    @Query(new ZodValidationPipe(rollupsQuerySchema, 'query')) q: RollupsQuery,
    @CurrentActor() actor: Actor,
  ) {
    await this.scope.assertVisible(actor, q.deviceId);
    return this.telemetry.rollups(q);
  }

  @Get('latency-histogram')
  @ApiOperation({
    summary: 'The merged RT latency histogram of a device (or one VM) over a range of at most 31 days',
    description:
      'Fixed µs buckets (5 µs up to 100 µs, coarser up to 2000 µs, then an open-ended overflow), merged from ' +
      "health reports' cyclictest histograms and telemetry samples' interval maxima; with p50/p90/p99/p99.9 " +
      'estimates. `fleetctl telemetry histogram` draws it.',
  })
  @queryParams(...RANGE_PARAMS)
  @ApiResponse({ status: 200, description: 'The histogram', schema: openApiSchema(histogramResponseSchema) })
  @problem400
  @ApiResponse({ status: 404, description: 'DEVICE_NOT_FOUND: outside the credential’s scope' })
  async histogram(
    @Query(new ZodValidationPipe(histogramQuerySchema, 'query')) q: HistogramQuery,
    @CurrentActor() actor: Actor,
  ) {
    await this.scope.assertVisible(actor, q.deviceId);
    return this.telemetry.histogram(q);
  }
}
