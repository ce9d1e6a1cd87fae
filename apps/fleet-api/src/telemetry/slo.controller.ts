import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DEFAULT_LATENCY_SLO, describeLatencySlo } from '@hyperfleet/read-models';
import { openApiSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { problem400, queryParams } from './openapi-params';
import { TelemetryQueryService } from './telemetry-query.service';
import {
  classParamSchema,
  defaultBudgetParamSchema,
  limitParamSchema,
  objectiveParamSchema,
  siteParamSchema,
  sloQuerySchema,
  sloResponseSchema,
  windowParamSchema,
  type SloQuery,
} from './telemetry.schemas';

@ApiTags('slo')
@Controller('api/v1/slo')
export class SloController {
  constructor(private readonly telemetry: TelemetryQueryService) {}

  @Get('latency')
  @ApiOperation({
    summary: 'Fleet real-time latency SLO: compliance, error-budget burn and the worst offenders',
    description:
      `The SLO (default): ${describeLatencySlo(DEFAULT_LATENCY_SLO)}. A minute is judged by the budget the ` +
      'VM had then; minutes without latency data do not count (`coverage`). Burn rate 1 spends exactly the ' +
      "window's error budget; offenders are RT VMs with bad minutes, lowest compliance first.",
  })
  @queryParams(
    { name: 'window', schema: windowParamSchema },
    { name: 'class', schema: classParamSchema },
    { name: 'site', schema: siteParamSchema },
    { name: 'limit', schema: limitParamSchema },
    { name: 'objective', schema: objectiveParamSchema },
    { name: 'defaultBudgetUs', schema: defaultBudgetParamSchema },
  )
  @ApiResponse({ status: 200, description: 'The SLO view', schema: openApiSchema(sloResponseSchema) })
  @problem400
  latency(@Query(new ZodValidationPipe(sloQuerySchema, 'query')) q: SloQuery) {
    return this.telemetry.latency(q);
  }
}
