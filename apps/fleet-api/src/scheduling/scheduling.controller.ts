import { Controller, Get, Module, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { ReadModelsModule } from '@hyperfleet/read-models';
import { deviceIdSchema, openApiSchema, problemSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import type { Page } from './pagination';
import { SchedulingQueries } from './scheduling.queries';
import {
  driftPageSchema,
  driftQuerySchema,
  schedulingDeviceResponseSchema,
  type DriftItem,
  type DriftQuery,
  type SchedulingDeviceResponse,
} from './scheduling.schemas';

export const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });

export const deviceIdParam = ApiParam({
  name: 'id',
  description: 'Device id',
  schema: openApiSchema(deviceIdSchema),
});

/** One ApiQuery per field of a zod query schema, so each parameter is documented with its own schema. */
export function queryParams(schema: z.ZodObject, required: readonly string[] = []): MethodDecorator {
  const decorators = Object.entries(schema.shape).map(([name, field]) =>
    ApiQuery({
      name,
      required: required.includes(name),
      description: (field as z.ZodType).description,
      schema: openApiSchema(field as z.ZodType),
    }),
  );
  return (target, key, descriptor) => {
    for (const d of decorators) d(target, key, descriptor);
  };
}

const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');

@ApiTags('scheduling')
@Requires('fleet:read')
@Controller('api/v1/scheduling')
export class SchedulingController {
  constructor(
    private readonly queries: SchedulingQueries,
    private readonly scope: DeviceScope,
  ) {}

  @Get('drift')
  @ApiOperation({
    summary: 'Devices whose partitioning drifted from the assigned plan',
    description:
      'A device is in drift when a partition plan is assigned and either the device does not report running ' +
      'that plan revision (none reported, another plan id or revision), or the assigned revision breaks an ' +
      'error-severity ACRN rule on the board the device reports now. Sorted by device id; keyset pagination.',
  })
  @queryParams(driftQuerySchema)
  @ApiResponse({
    status: 200,
    description: 'A page of devices in drift',
    schema: openApiSchema(driftPageSchema),
  })
  @problem(
    400,
    'VALIDATION_FAILED: a query parameter is invalid (details.issues names it); INVALID_CURSOR: a cursor this list did not issue',
  )
  drift(
    @Query(new ZodValidationPipe(driftQuerySchema, 'query')) query: DriftQuery,
    @CurrentActor() actor: Actor,
  ): Promise<Page<DriftItem>> {
    return this.queries.drift(query, actor.scope);
  }

  @Get('devices/:id')
  @ApiOperation({
    summary: 'CPU and cache allocation of a device: assigned plan vs reported plan, violations, drift',
    description:
      'Per pCPU the VMs that run on it (the Service VM with its implicit pCPUs), per VM and vCPU the CLOS, ' +
      'for the assigned and for the reported plan revision on the current board; ACRN violations of the ' +
      'assigned plan on that board; drift; and the RTVMs\u2019 reported pinning against the plan.',
  })
  @deviceIdParam
  @ApiResponse({
    status: 200,
    description: 'The device',
    schema: openApiSchema(schedulingDeviceResponseSchema),
  })
  @problem(400, 'VALIDATION_FAILED: the device id is malformed')
  @problem(404, 'DEVICE_NOT_FOUND')
  async device(
    @Param('id', idPipe) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<SchedulingDeviceResponse> {
    await this.scope.assertVisible(actor, id);
    return this.queries.device(id);
  }
}

/** GET /api/v1/scheduling/…: the scheduling-policy read model. */
@Module({
  imports: [ReadModelsModule],
  controllers: [SchedulingController],
  providers: [SchedulingQueries],
})
export class SchedulingApiModule {}
