import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ChangeRtVmLatencyBudget, type CommandOutcome } from '@hyperfleet/domain';
import { CurrentActor, Requires, commandActor, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { deviceIdSchema, openApiSchema, problemSchema } from '../devices/devices.schemas';
import { QueryValidationPipe } from '../fleet/query-validation.pipe';
import { expectedVersionFrom, setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { queryParams } from '../telemetry/openapi-params';
import {
  commandAcceptedSchema,
  commandIdSchema,
  commandListSchema,
  commandViewSchema,
  deviceCommandsQuerySchema,
  getCommandQuerySchema,
  latencyBudgetBodySchema,
  latencyBudgetResponseSchema,
  listCommandsQuerySchema,
  rtVmActionBodySchema,
  rtVmStopBodySchema,
  serviceVmActionBodySchema,
  vmNameParamSchema,
  type CommandAccepted,
  type CommandView,
  type DeviceAction,
  type DeviceCommandsQuery,
  type GetCommandQuery,
  type LatencyBudgetBody,
  type LatencyBudgetResponse,
  type ListCommandsQuery,
  type RtVmActionBody,
  type RtVmStopBody,
  type ServiceVmActionBody,
} from './commands.schemas';
import { DeviceCommandsService } from './device-commands.service';
import type { ActionArgs } from './device-actions';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const deviceIdParam = ApiParam({
  name: 'id',
  description: 'Device id',
  schema: openApiSchema(deviceIdSchema),
});
const vmParam = ApiParam({ name: 'vm', description: 'RT VM name', schema: openApiSchema(vmNameParamSchema) });
const idPipe = new ZodValidationPipe(deviceIdSchema, 'path');
const vmPipe = new ZodValidationPipe(vmNameParamSchema, 'path');
const commandIdPipe = new ZodValidationPipe(commandIdSchema, 'path');

const accepted = ApiResponse({
  status: 202,
  description:
    'Accepted by the domain and queued for the device; follow it at `links.self` (also the Location header)',
  schema: openApiSchema(commandAcceptedSchema),
});
const rtVmProblems = [
  problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH'),
  problem(404, 'DEVICE_NOT_FOUND, DEVICE_NOT_PROVISIONED or RTVM_NOT_REGISTERED'),
  problem(
    409,
    'RTVM_NOT_STOPPED, RTVM_ALREADY_STOPPED, RTVM_NOT_RUNNING, RTVM_OPERATION_PENDING, RTVM_NOT_POST_LAUNCHED or ' +
      'CONCURRENCY_CONFLICT (details.commandId: the command, recorded as rejected)',
  ),
  problem(412, 'PRECONDITION_FAILED: the RT VM moved past the If-Match version'),
  problem(422, 'RTVM_FORCE_STOP_UNSUPPORTED or INVALID_COMMAND'),
];
const applyAll =
  (...decorators: MethodDecorator[]): MethodDecorator =>
  (target, key, descriptor) => {
    for (const d of decorators) d(target, key, descriptor);
  };

const RT_VM_SUMMARIES: Record<string, string> = {
  start: 'Start an RT VM (acrnctl start)',
  reset: 'Reset an RT VM (acrnctl reset: stop, then start)',
  delete: 'Delete a stopped RT VM (acrnctl del)',
};

@ApiTags('commands')
@Controller('api/v1/devices')
export class DeviceCommandsController {
  constructor(
    private readonly commands: DeviceCommandsService,
    private readonly scope: DeviceScope,
    private readonly bus: CommandBus,
  ) {}

  private async issue(
    actor: Actor,
    req: Request,
    res: Response,
    deviceId: string,
    action: DeviceAction,
    args: ActionArgs,
    deliverWithinSeconds: number | undefined,
  ): Promise<CommandAccepted> {
    const a = await this.commands.issue(actor, deviceId, action, args, {
      ...(deliverWithinSeconds !== undefined ? { deliverWithinSeconds } : {}),
      ...optionalVersion(expectedVersionFrom(req)),
    });
    res.setHeader('Location', a.links.self);
    return a;
  }

  @Post(':id/rt-vms/:vm\\:start')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({
    summary: RT_VM_SUMMARIES.start,
    description:
      'The domain decides at once (the VM must be a stopped post-launched RTVM); the command then waits ' +
      'for the device to be online and is tracked to its answer at GET /api/v1/commands/{commandId}.',
  })
  @deviceIdParam
  @vmParam
  @ApiBody({ required: false, schema: openApiSchema(rtVmActionBodySchema) })
  @accepted
  @applyAll(...rtVmProblems)
  start(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(rtVmActionBodySchema, 'body')) body: RtVmActionBody,
  ): Promise<CommandAccepted> {
    return this.issue(actor, req, res, id, 'rt-vm.start', { vmName: vm }, body.deliverWithinSeconds);
  }

  @Post(':id/rt-vms/:vm\\:stop')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({
    summary: 'Stop an RT VM (acrnctl stop)',
    description:
      'A graceful stop: the Device Model asks the guest to power off. `force` is refused for an RTVM ' +
      '(422 RTVM_FORCE_STOP_UNSUPPORTED), as the Device Model ignores it for one.',
  })
  @deviceIdParam
  @vmParam
  @ApiBody({ required: false, schema: openApiSchema(rtVmStopBodySchema) })
  @accepted
  @applyAll(...rtVmProblems)
  stop(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(rtVmStopBodySchema, 'body')) body: RtVmStopBody,
  ): Promise<CommandAccepted> {
    const args = { vmName: vm, ...(body.force !== undefined ? { force: body.force } : {}) };
    return this.issue(actor, req, res, id, 'rt-vm.stop', args, body.deliverWithinSeconds);
  }

  @Post(':id/rt-vms/:vm\\:reset')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({ summary: RT_VM_SUMMARIES.reset, description: 'Needs a started or suspended RT VM.' })
  @deviceIdParam
  @vmParam
  @ApiBody({ required: false, schema: openApiSchema(rtVmActionBodySchema) })
  @accepted
  @applyAll(...rtVmProblems)
  reset(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(rtVmActionBodySchema, 'body')) body: RtVmActionBody,
  ): Promise<CommandAccepted> {
    return this.issue(actor, req, res, id, 'rt-vm.reset', { vmName: vm }, body.deliverWithinSeconds);
  }

  @Post(':id/rt-vms/:vm\\:delete')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({ summary: RT_VM_SUMMARIES.delete, description: 'Needs a stopped post-launched RT VM.' })
  @deviceIdParam
  @vmParam
  @ApiBody({ required: false, schema: openApiSchema(rtVmActionBodySchema) })
  @accepted
  @applyAll(...rtVmProblems)
  remove(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(rtVmActionBodySchema, 'body')) body: RtVmActionBody,
  ): Promise<CommandAccepted> {
    return this.issue(actor, req, res, id, 'rt-vm.delete', { vmName: vm }, body.deliverWithinSeconds);
  }

  @Post(':id/rt-vms/:vm\\:change-latency-budget')
  @HttpCode(200)
  @Requires('devices:command')
  @ApiOperation({
    summary: "Change an RT VM's worst-case latency budget (µs)",
    description:
      'A backend decision only (no device command): later latency reports above the budget are breaches. ' +
      'Answers with the RT VM stream version, also as the ETag. PUT works the same.',
  })
  @deviceIdParam
  @vmParam
  @ApiBody({ schema: openApiSchema(latencyBudgetBodySchema) })
  @ApiResponse({ status: 200, description: 'Changed', schema: openApiSchema(latencyBudgetResponseSchema) })
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND or RTVM_NOT_REGISTERED')
  @problem(412, 'PRECONDITION_FAILED')
  @problem(422, 'INVALID_COMMAND')
  changeBudget(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(latencyBudgetBodySchema, 'body')) body: LatencyBudgetBody,
  ): Promise<LatencyBudgetResponse> {
    return this.changeLatencyBudget(actor, req, res, id, vm, body);
  }

  @Put(':id/rt-vms/:vm\\:change-latency-budget')
  @HttpCode(200)
  @Requires('devices:command')
  @ApiOperation({ summary: "Change an RT VM's worst-case latency budget (µs); as the POST" })
  @deviceIdParam
  @vmParam
  @ApiBody({ schema: openApiSchema(latencyBudgetBodySchema) })
  @ApiResponse({ status: 200, description: 'Changed', schema: openApiSchema(latencyBudgetResponseSchema) })
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND or RTVM_NOT_REGISTERED')
  @problem(412, 'PRECONDITION_FAILED')
  @problem(422, 'INVALID_COMMAND')
  putBudget(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Param('vm', vmPipe) vm: string,
    @Body(new ZodValidationPipe(latencyBudgetBodySchema, 'body')) body: LatencyBudgetBody,
  ): Promise<LatencyBudgetResponse> {
    return this.changeLatencyBudget(actor, req, res, id, vm, body);
  }

  private async changeLatencyBudget(
    actor: Actor,
    req: Request,
    res: Response,
    deviceId: string,
    vmName: string,
    body: LatencyBudgetBody,
  ): Promise<LatencyBudgetResponse> {
    await this.scope.assertVisible(actor, deviceId);
    const outcome: CommandOutcome = await this.bus.execute(
      new ChangeRtVmLatencyBudget(
        { deviceId, vmName, budgetUs: body.budgetUs },
        {
          commandId: randomUUID(),
          actor: commandActor(actor),
          ...optionalVersion(expectedVersionFrom(req)),
        },
      ),
    );
    setEtag(res, outcome.version);
    return { deviceId, vmName, budgetUs: body.budgetUs, version: outcome.version };
  }

  @Post(':id/service-vm\\:reboot')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({
    summary: 'Reboot the Service VM (and with it the platform)',
    description:
      'User VMs get `graceSeconds` (default 60) to shut down. Tracked at GET /api/v1/commands/{commandId}; ' +
      'the device answers done after it booted again.',
  })
  @deviceIdParam
  @ApiBody({ required: false, schema: openApiSchema(serviceVmActionBodySchema) })
  @accepted
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND or SERVICE_VM_NOT_FOUND')
  @problem(409, 'SERVICE_VM_NOT_RUNNING or CONCURRENCY_CONFLICT')
  @problem(412, 'PRECONDITION_FAILED')
  reboot(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(serviceVmActionBodySchema, 'body')) body: ServiceVmActionBody,
  ): Promise<CommandAccepted> {
    return this.issue(
      actor,
      req,
      res,
      id,
      'service-vm.reboot',
      serviceVmArgs(body),
      body.deliverWithinSeconds,
    );
  }

  @Post(':id/service-vm\\:shutdown')
  @HttpCode(202)
  @Requires('devices:command')
  @ApiOperation({
    summary: 'Shut the Service VM (and with it the platform) down',
    description:
      'The device stays off until someone powers it on; tracked at GET /api/v1/commands/{commandId}.',
  })
  @deviceIdParam
  @ApiBody({ required: false, schema: openApiSchema(serviceVmActionBodySchema) })
  @accepted
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON or INVALID_IF_MATCH')
  @problem(404, 'DEVICE_NOT_FOUND or SERVICE_VM_NOT_FOUND')
  @problem(409, 'SERVICE_VM_NOT_RUNNING or CONCURRENCY_CONFLICT')
  @problem(412, 'PRECONDITION_FAILED')
  shutdown(
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(serviceVmActionBodySchema, 'body')) body: ServiceVmActionBody,
  ): Promise<CommandAccepted> {
    return this.issue(
      actor,
      req,
      res,
      id,
      'service-vm.shutdown',
      serviceVmArgs(body),
      body.deliverWithinSeconds,
    );
  }

  @Get(':id/commands')
  @Requires('fleet:read')
  @ApiOperation({ summary: "A device's commands, newest first, a page at a time" })
  @deviceIdParam
  @queryParams(
    { name: 'status', schema: deviceCommandsQuerySchema.shape.status },
    { name: 'limit', schema: deviceCommandsQuerySchema.shape.limit },
    { name: 'cursor', schema: deviceCommandsQuerySchema.shape.cursor },
  )
  @ApiResponse({ status: 200, description: 'A page of commands', schema: openApiSchema(commandListSchema) })
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'DEVICE_NOT_FOUND (outside the credential scope)')
  deviceCommands(
    @CurrentActor() actor: Actor,
    @Param('id', idPipe) id: string,
    @Query(new QueryValidationPipe(deviceCommandsQuerySchema)) q: DeviceCommandsQuery,
  ) {
    return this.commands.list(actor, { ...q, deviceId: id });
  }
}

@ApiTags('commands')
@Controller('api/v1/commands')
export class CommandsController {
  constructor(private readonly commands: DeviceCommandsService) {}

  @Get()
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Device commands, newest first, filtered, a page at a time',
    description: 'Pass `nextCursor` back as `cursor` until it is null.',
  })
  @queryParams(
    { name: 'deviceId', schema: listCommandsQuerySchema.shape.deviceId },
    { name: 'status', schema: listCommandsQuerySchema.shape.status },
    { name: 'batchId', schema: listCommandsQuerySchema.shape.batchId },
    { name: 'limit', schema: listCommandsQuerySchema.shape.limit },
    { name: 'cursor', schema: listCommandsQuerySchema.shape.cursor },
  )
  @ApiResponse({ status: 200, description: 'A page of commands', schema: openApiSchema(commandListSchema) })
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'DEVICE_NOT_FOUND (deviceId outside the credential scope)')
  list(
    @CurrentActor() actor: Actor,
    @Query(new QueryValidationPipe(listCommandsQuerySchema)) q: ListCommandsQuery,
  ) {
    return this.commands.list(actor, q);
  }

  @Get(':commandId')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'One device command: its status, the device reply and the times of each step',
    description:
      'queued → sent → acknowledged → succeeded | failed; rejected (by the domain or the agent), timed-out ' +
      '(no final answer by expiresAt), expired (never delivered by deliverBy). With `?wait=30s` the answer ' +
      'comes when the command is final or the wait is over, whichever is first.',
  })
  @ApiParam({ name: 'commandId', schema: openApiSchema(commandIdSchema) })
  @queryParams({ name: 'wait', schema: getCommandQuerySchema.shape.wait })
  @ApiResponse({ status: 200, description: 'The command', schema: openApiSchema(commandViewSchema) })
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'COMMAND_NOT_FOUND')
  get(
    @CurrentActor() actor: Actor,
    @Param('commandId', commandIdPipe) commandId: string,
    @Query(new QueryValidationPipe(getCommandQuerySchema)) q: GetCommandQuery,
  ): Promise<CommandView> {
    return q.wait ? this.commands.waitFor(actor, commandId, q.wait) : this.commands.get(actor, commandId);
  }
}

function serviceVmArgs(body: ServiceVmActionBody): ActionArgs {
  return {
    ...(body.reason !== undefined ? { reason: body.reason } : {}),
    ...(body.graceSeconds !== undefined ? { graceSeconds: body.graceSeconds } : {}),
  };
}

function optionalVersion(v: number | undefined): { expectedVersion?: number } {
  return v === undefined ? {} : { expectedVersion: v };
}
