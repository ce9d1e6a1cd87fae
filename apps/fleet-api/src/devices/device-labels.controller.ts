import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Param,
  Patch,
  Req,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  HypervisorAggregate,
  SetDeviceAttributes,
  UpdateDeviceLabels,
  streamIds,
  type CommandMeta,
  type CommandOutcome,
  type DeviceAttributesChanged,
  type DeviceLabelsUpdated,
  type EventStreamStore,
  type HypervisorState,
} from '@hyperfleet/domain';
import { EVENT_STORE } from '@hyperfleet/platform';
import { CurrentActor, Requires, commandActor, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { expectedVersionFrom, setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  attributesResponseSchema,
  labelsResponseSchema,
  setAttributesBodySchema,
  updateLabelsBodySchema,
  type AttributesResponse,
  type LabelsResponse,
  type SetAttributesBody,
  type UpdateLabelsBody,
} from './device-labels.schemas';
import { deviceIdSchema, openApiSchema, problemSchema } from './devices.schemas';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const deviceIdParam = ApiParam({
  name: 'id',
  description: 'Device id',
  schema: openApiSchema(deviceIdSchema),
});
const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');
const etagHeader = {
  ETag: {
    description: 'The Hypervisor stream version after the write, e.g. "8"',
    schema: { type: 'string' },
  },
};
const ifMatchDoc = problem(
  412,
  'PRECONDITION_FAILED: If-Match named another version than the device has (GET it again, then retry)',
);

/** Runs the label and attribute commands of a device and answers with its state after them. */
@Injectable()
export class DeviceLabelsService {
  constructor(
    private readonly commands: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStreamStore,
  ) {}

  async updateLabels(deviceId: string, body: UpdateLabelsBody, meta: CommandMeta): Promise<LabelsResponse> {
    const outcome: CommandOutcome = await this.commands.execute(
      new UpdateDeviceLabels({ deviceId, ...body }, meta),
    );
    const event = outcome.events.find((e) => e.type === 'DeviceLabelsUpdated') as
      DeviceLabelsUpdated | undefined;
    if (event) {
      const { site, tags } = event.data;
      return { deviceId, version: outcome.version, changed: true, site, tags };
    }
    const { state, version } = await this.current(deviceId);
    return { deviceId, version, changed: false, site: state.site ?? '', tags: [...state.tags] };
  }

  async setAttributes(
    deviceId: string,
    body: SetAttributesBody,
    meta: CommandMeta,
  ): Promise<AttributesResponse> {
    const outcome: CommandOutcome = await this.commands.execute(
      new SetDeviceAttributes({ deviceId, ...body }, meta),
    );
    const event = outcome.events.find((e) => e.type === 'DeviceAttributesChanged') as
      DeviceAttributesChanged | undefined;
    if (event)
      return { deviceId, version: outcome.version, changed: true, attributes: event.data.attributes };
    const { state, version } = await this.current(deviceId);
    return { deviceId, version, changed: false, attributes: { ...state.attributes } };
  }

  /** The device as its stream says now: only read when the command changed nothing (a repeat). */
  private async current(deviceId: string): Promise<{ state: HypervisorState; version: number }> {
    const aggregate = new HypervisorAggregate(deviceId).loadFromStream(
      await this.store.readStream(streamIds.hypervisor(deviceId)),
    );
    return { state: aggregate.state, version: Number(aggregate.version) };
  }
}

function commandMeta(actor: Actor, req: Request): CommandMeta {
  const expectedVersion = expectedVersionFrom(req);
  return {
    commandId: randomUUID(),
    actor: commandActor(actor),
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
  };
}

/**
 * Labels (site, tags) and free-form inventory attributes of a device.
 *
 * Why PATCH and not a custom POST method like the device commands (`…/rt-vms/{vm}:start`): those
 * are actions the device carries out, tracked to its answer; labels and attributes are a partial
 * update of data Hyperfleet itself keeps about the device, which is what PATCH on a sub-resource
 * means, and it is naturally idempotent (the same body twice changes nothing the second time).
 */
@ApiTags('devices')
@Controller('api/v1/devices')
export class DeviceLabelsController {
  constructor(
    private readonly labels: DeviceLabelsService,
    private readonly scope: DeviceScope,
  ) {}

  @Patch(':id/labels')
  @HttpCode(200)
  @Requires('devices:write')
  @ApiOperation({
    summary: 'Move a device to another site and/or replace its tags',
    description:
      'Absent fields stay as they are; `tags` replaces the whole list. With `If-Match: "<version>"` (the ' +
      "ETag of GET /api/v1/devices/{id}) the write happens only if the device's Hypervisor stream is still " +
      'at that version, else 412.',
  })
  @deviceIdParam
  @ApiBody({ schema: openApiSchema(updateLabelsBodySchema) })
  @ApiResponse({
    status: 200,
    description: 'The labels after the write',
    schema: openApiSchema(labelsResponseSchema),
    headers: etagHeader,
  })
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND (outside the credential scope) or DEVICE_NOT_PROVISIONED')
  @ifMatchDoc
  @problem(422, 'INVALID_COMMAND')
  async updateLabels(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(updateLabelsBodySchema, 'body')) body: UpdateLabelsBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LabelsResponse> {
    await this.scope.assertVisible(actor, id);
    const result = await this.labels.updateLabels(id, body, commandMeta(actor, req));
    setEtag(res, result.version);
    return result;
  }

  @Patch(':id/attributes')
  @HttpCode(200)
  @Requires('devices:write')
  @ApiOperation({
    summary: 'Set and remove free-form inventory attributes of a device',
    description:
      '`remove` is applied before `set`. Keys match /^[a-z][a-z0-9_.-]{0,63}$/, values are strings of at ' +
      'most 256 characters, a device has at most 64 attributes. Filter devices by them with ' +
      '`GET /api/v1/devices?attr=key:value`. `If-Match` as for labels.',
  })
  @deviceIdParam
  @ApiBody({ schema: openApiSchema(setAttributesBodySchema) })
  @ApiResponse({
    status: 200,
    description: 'Every attribute after the write',
    schema: openApiSchema(attributesResponseSchema),
    headers: etagHeader,
  })
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND (outside the credential scope) or DEVICE_NOT_PROVISIONED')
  @ifMatchDoc
  @problem(422, 'INVALID_DEVICE_ATTRIBUTES or DEVICE_ATTRIBUTE_LIMIT_EXCEEDED')
  async setAttributes(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(setAttributesBodySchema, 'body')) body: SetAttributesBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AttributesResponse> {
    await this.scope.assertVisible(actor, id);
    const result = await this.labels.setAttributes(id, body, commandMeta(actor, req));
    setEtag(res, result.version);
    return result;
  }
}

/** PATCH /api/v1/devices/{id}/labels and /attributes. DeviceScope comes from the (global) AuthModule. */
@Module({ controllers: [DeviceLabelsController], providers: [DeviceLabelsService] })
export class DeviceLabelsApiModule {}
