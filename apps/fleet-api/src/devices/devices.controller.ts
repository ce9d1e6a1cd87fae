import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError } from '../http/api-error';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { DeviceProvisioningService } from './device-provisioning.service';
import {
  credentialStatusResponseSchema,
  deviceIdSchema,
  issuedCredentialResponseSchema,
  openApiSchema,
  problemSchema,
  provisionDeviceBodySchema,
  type CredentialStatusResponse,
  type IssuedCredentialResponse,
  type ProvisionDeviceBody,
} from './devices.schemas';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const deviceIdParam = ApiParam({
  name: 'id',
  description: 'Device id',
  schema: openApiSchema(deviceIdSchema),
});
const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');

@ApiTags('devices')
@Controller('api/v1/devices')
export class DevicesController {
  constructor(
    private readonly devices: DeviceProvisioningService,
    private readonly scope: DeviceScope,
  ) {}

  @Post()
  @HttpCode(201)
  @Requires('devices:write')
  @ApiOperation({
    summary: 'Provision a device and issue its MQTT credential',
    description:
      'Runs ProvisionDevice, then issues the device its MQTT password. The password is in this response ' +
      'only: Hyperfleet stores its hash. Repeating the request after a failure between the two steps ' +
      'issues the credential; otherwise a known device is 409 DEVICE_ALREADY_PROVISIONED.',
  })
  @ApiBody({ schema: openApiSchema(provisionDeviceBodySchema) })
  @ApiResponse({
    status: 201,
    description: 'Provisioned',
    schema: openApiSchema(issuedCredentialResponseSchema),
  })
  @problem(400, 'VALIDATION_FAILED or MALFORMED_JSON')
  @problem(403, 'SCOPE_EXCEEDED: the site or class is outside the credential’s scope')
  @problem(409, 'DEVICE_ALREADY_PROVISIONED')
  @problem(422, 'DEVICE_ID_RESERVED (the gateway account) or INVALID_COMMAND')
  provision(
    @Body(new ZodValidationPipe(provisionDeviceBodySchema, 'body')) body: ProvisionDeviceBody,
    @CurrentActor() actor: Actor,
  ): Promise<IssuedCredentialResponse> {
    const { sites, deviceClasses } = actor.scope;
    if (
      (sites && !sites.includes(body.site)) ||
      (deviceClasses && !deviceClasses.includes(body.deviceClass))
    ) {
      throw new ApiError(
        403,
        'SCOPE_EXCEEDED',
        `This credential may not provision devices of class ${body.deviceClass} at site ${body.site}.`,
        { scope: { sites, deviceClasses } },
      );
    }
    return this.devices.provision(body, actor);
  }

  // `\\:` keeps the colon of the custom method (`credentials:rotate`) from starting a route parameter.
  @Post(':id/credentials\\:rotate')
  @HttpCode(200)
  @Requires('devices:write')
  @ApiOperation({
    summary: 'Rotate the MQTT password of a device',
    description:
      'A new password, shown once; the old one stops working at the next connection. ' +
      'Rotating a revoked credential re-activates it.',
  })
  @deviceIdParam
  @ApiResponse({ status: 200, description: 'Rotated', schema: openApiSchema(issuedCredentialResponseSchema) })
  @problem(404, 'CREDENTIAL_NOT_FOUND, or DEVICE_NOT_FOUND outside the credential’s scope')
  async rotate(
    @Param('id', idPipe) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<IssuedCredentialResponse> {
    await this.scope.assertVisible(actor, id);
    return this.devices.rotate(id, actor);
  }

  @Delete(':id/credentials')
  @HttpCode(200)
  @Requires('devices:write')
  @ApiOperation({
    summary: 'Revoke the MQTT credential of a device',
    description: 'The device can no longer connect. Revoking again changes nothing.',
  })
  @deviceIdParam
  @ApiResponse({ status: 200, description: 'Revoked', schema: openApiSchema(credentialStatusResponseSchema) })
  @problem(404, 'CREDENTIAL_NOT_FOUND, or DEVICE_NOT_FOUND outside the credential’s scope')
  async revoke(
    @Param('id', idPipe) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<CredentialStatusResponse> {
    await this.scope.assertVisible(actor, id);
    return this.devices.revoke(id, actor);
  }

  @Get(':id/credentials')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'When the MQTT credential of a device was issued, rotated or revoked (never the secret)',
  })
  @deviceIdParam
  @ApiResponse({
    status: 200,
    description: 'The credential',
    schema: openApiSchema(credentialStatusResponseSchema),
  })
  @problem(404, 'CREDENTIAL_NOT_FOUND, or DEVICE_NOT_FOUND outside the credential’s scope')
  async status(
    @Param('id', idPipe) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<CredentialStatusResponse> {
    await this.scope.assertVisible(actor, id);
    return this.devices.status(id);
  }
}
