import { Controller, Get, Module, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ReadModelsModule } from '@hyperfleet/read-models';
import { deviceIdSchema, openApiSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import type { Page } from '../scheduling/pagination';
import { deviceIdParam, problem, queryParams } from '../scheduling/scheduling.controller';
import { OtaQueries } from './ota.queries';
import {
  otaDeviceResponseSchema,
  otaDevicesPageSchema,
  otaDevicesQuerySchema,
  versionsQuerySchema,
  versionsResponseSchema,
  type OtaDeviceItem,
  type OtaDeviceResponse,
  type OtaDevicesQuery,
  type VersionsQuery,
  type VersionsResponse,
} from './ota.schemas';

const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');

@ApiTags('ota')
@Requires('fleet:read')
@Controller('api/v1/ota')
export class OtaController {
  constructor(
    private readonly queries: OtaQueries,
    private readonly scope: DeviceScope,
  ) {}

  @Get('devices/:id')
  @ApiOperation({
    summary: 'OTA status of a device: per artefact the reported and desired version and the update stage',
  })
  @deviceIdParam
  @ApiResponse({ status: 200, description: 'The device', schema: openApiSchema(otaDeviceResponseSchema) })
  @problem(400, 'VALIDATION_FAILED: the device id is malformed')
  @problem(404, 'DEVICE_NOT_FOUND')
  async device(@Param('id', idPipe) id: string, @CurrentActor() actor: Actor): Promise<OtaDeviceResponse> {
    await this.scope.assertVisible(actor, id);
    return this.queries.device(id);
  }

  @Get('versions')
  @ApiOperation({
    summary: 'Per version of an artefact: devices reporting it, desiring it, updating to it, failed on it',
    description: 'failed counts updates that ended failed or rolled-back; inProgress those not yet ended.',
  })
  @queryParams(versionsQuerySchema, ['target'])
  @ApiResponse({ status: 200, description: 'The versions', schema: openApiSchema(versionsResponseSchema) })
  @problem(400, 'VALIDATION_FAILED: a query parameter is missing or invalid (details.issues names it)')
  versions(
    @Query(new ZodValidationPipe(versionsQuerySchema, 'query')) query: VersionsQuery,
    @CurrentActor() actor: Actor,
  ): Promise<VersionsResponse> {
    return this.queries.versions(query, actor.scope);
  }

  @Get('devices')
  @ApiOperation({
    summary: 'Artefacts of devices by target, version and update stage',
    description:
      'One item per device and artefact, sorted by device id, artefact and VM; keyset pagination. `version` ' +
      'matches the reported, the desired and the in-flight update version, as /ota/versions counts them.',
  })
  @queryParams(otaDevicesQuerySchema)
  @ApiResponse({
    status: 200,
    description: 'A page of artefacts',
    schema: openApiSchema(otaDevicesPageSchema),
  })
  @problem(
    400,
    'VALIDATION_FAILED: a query parameter is invalid (details.issues names it); INVALID_CURSOR: a cursor this list did not issue',
  )
  devices(
    @Query(new ZodValidationPipe(otaDevicesQuerySchema, 'query')) query: OtaDevicesQuery,
    @CurrentActor() actor: Actor,
  ): Promise<Page<OtaDeviceItem>> {
    return this.queries.devices(query, actor.scope);
  }
}

/** GET /api/v1/ota/…: the OTA-status read model. */
@Module({
  imports: [ReadModelsModule],
  controllers: [OtaController],
  providers: [OtaQueries],
})
export class OtaApiModule {}
