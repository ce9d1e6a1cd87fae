import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DEFAULT_LATENCY_SLO, describeLatencySlo } from '@hyperfleet/read-models';
import { openApiSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { ApiError } from '../http/api-error';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
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
@Requires('fleet:read')
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
  @ApiResponse({
    status: 403,
    description:
      'SCOPE_EXCEEDED: a site or class outside the credential’s scope, or none named by a credential scoped to several',
  })
  latency(@Query(new ZodValidationPipe(sloQuerySchema, 'query')) q: SloQuery, @CurrentActor() actor: Actor) {
    return this.telemetry.latency({
      ...q,
      site: withinScope('site', q.site, actor.scope.sites),
      class: withinScope('class', q.class, actor.scope.deviceClasses) as SloQuery['class'],
    });
  }
}

/**
 * The SLO is computed over one site and/or class at most, so a scoped credential's view is narrowed to
 * its single site (class), or it must name one of its own.
 */
function withinScope<T extends string>(
  name: string,
  asked: T | undefined,
  allowed: readonly string[] | null,
): T | undefined {
  if (!allowed) return asked;
  if (asked === undefined && allowed.length === 1) return allowed[0] as T;
  if (asked !== undefined && allowed.includes(asked)) return asked;
  throw new ApiError(
    403,
    'SCOPE_EXCEEDED',
    asked === undefined
      ? `This credential is limited to several ${name} values: name one (${name}=${allowed[0]}).`
      : `This credential may not see ${name} ${asked}.`,
    { [name]: asked ?? null, allowed },
  );
}
