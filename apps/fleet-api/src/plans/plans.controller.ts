import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { openApiSchema } from '../devices/devices.schemas';
import { ApiError } from '../http/api-error';
import { expectedVersionFrom, setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { problem, queryParams } from '../scheduling/scheduling.controller';
import type { Page } from '../scheduling/pagination';
import { importScenarioXml, isXmlContentType, MAX_XML_BYTES, scenarioXmlOf, xmlBodyText } from './acrn-xml';
import {
  assignPlanBodySchema,
  bulkAssignmentSchema,
  createPlanBodySchema,
  createPlanQuerySchema,
  exportQuerySchema,
  listPlansQuerySchema,
  planIdSchema,
  planPageSchema,
  planResponseSchema,
  planWriteResponseSchema,
  revisePlanBodySchema,
  revisePlanQuerySchema,
  revisionSchema,
  singleAssignmentSchema,
  validatePlanBodySchema,
  validatePlanQuerySchema,
  validateResponseSchema,
  type AssignPlanBody,
  type BulkAssignment,
  type CreatePlanQuery,
  type ListPlansQuery,
  type PlanResponse,
  type PlanSummary,
  type PlanWriteResponse,
  type RevisePlanQuery,
  type SingleAssignment,
  type ValidatePlanQuery,
  type ValidateResponse,
} from './plans.schemas';
import { planResponse, PlansService } from './plans.service';

const planIdParam = ApiParam({ name: 'id', description: 'Plan id', schema: openApiSchema(planIdSchema) });
const revisionParam = ApiParam({ name: 'n', description: 'Revision', schema: openApiSchema(revisionSchema) });
const idPipe = new ZodValidationPipe(planIdSchema, 'path');
const revisionPipe = new ZodValidationPipe(revisionSchema, 'path');
const xmlBody = ApiBody({
  description: `JSON (application/json), or an ACRN scenario XML (application/xml, text/xml; at most ${MAX_XML_BYTES} bytes)`,
  schema: { oneOf: [{ type: 'object' }, { type: 'string', description: 'ACRN scenario XML' }] },
});
const xmlProblems = [
  problem(
    400,
    'VALIDATION_FAILED, MALFORMED_JSON, XML_MALFORMED, XML_DTD_FORBIDDEN, XML_TOO_DEEP\u2026 (libs/acrn\u2019s code for XML it refuses), EMPTY_BODY',
  ),
  problem(413, 'PAYLOAD_TOO_LARGE: the XML is larger than the limit'),
  problem(415, 'UNSUPPORTED_MEDIA_TYPE: format=scenario-xml without an XML body'),
];
const applyAll =
  (decorators: MethodDecorator[]): MethodDecorator =>
  (target, key, descriptor) => {
    for (const d of decorators) d(target, key, descriptor);
  };

/** True when the request carries scenario XML (format=scenario-xml, or an XML Content-Type). */
function isXmlUpload(req: Request, format: string | undefined): boolean {
  const xmlType = isXmlContentType(req.headers['content-type']);
  if (format === 'json' && xmlType) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'format=json with an XML Content-Type: say one');
  }
  return format === 'scenario-xml' || xmlType;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) {
    throw new ApiError(
      400,
      'VALIDATION_FAILED',
      `The request query is invalid: ${name}: required for an XML upload.`,
      {
        part: 'query',
        issues: [{ path: name, message: 'required for an XML upload' }],
      },
    );
  }
  return value;
}

/**
 * Partition plans: ACRN scenarios kept as versioned plans (stream `partition-plan-<id>`), validated
 * against imported boards, exported as scenario XML and assigned to devices. Custom methods use the
 * `resource:verb` style (`\\:` keeps Nest from reading the colon as a parameter).
 */
@ApiTags('plans')
@Controller('api/v1')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Post('plans')
  @HttpCode(201)
  @Requires('plans:write')
  @ApiOperation({
    summary: 'Create a partition plan (revision 1) from plan JSON or an ACRN scenario XML',
    description:
      'JSON: `{ planId, deviceClass, description?, plan }`. XML: the scenario XML as the body ' +
      '(`Content-Type: application/xml`, or `?format=scenario-xml`) with `planId` and `deviceClass` (and ' +
      'optionally `board`, `scenario`, `description`) as query parameters; `unmodelled` lists what the ' +
      'importer reported it could not model. When the board the plan names was imported, the plan is ' +
      'validated against it and its errors refuse the plan (422 PLAN_DOES_NOT_FIT_BOARD).',
  })
  @queryParams(createPlanQuerySchema)
  @ApiConsumes('application/json', 'application/xml', 'text/xml')
  @xmlBody
  @ApiResponse({ status: 201, description: 'Created', schema: openApiSchema(planWriteResponseSchema) })
  @applyAll(xmlProblems)
  @problem(409, 'PARTITION_PLAN_ALREADY_EXISTS')
  @problem(
    422,
    'INVALID_PARTITION_PLAN, SCENARIO_INVALID, XML_WRONG_ROOT, PLAN_DOES_NOT_FIT_BOARD, INVALID_COMMAND',
  )
  async create(
    @Body() body: unknown,
    @Query(new ZodValidationPipe(createPlanQuerySchema, 'query')) query: CreatePlanQuery,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PlanWriteResponse> {
    const ctx = { actor, expectedVersion: expectedVersionFrom(req) };
    let created: PlanWriteResponse;
    if (isXmlUpload(req, query.format)) {
      const xml = xmlBodyText(body, 'scenario');
      const planId = required(query.planId, 'planId');
      const deviceClass = required(query.deviceClass, 'deviceClass');
      const { value: plan, unmodelled } = importScenarioXml(xml, {
        board: query.board,
        scenario: query.scenario ?? planId,
      });
      created = await this.plans.create(
        ctx,
        {
          planId,
          deviceClass,
          plan,
          ...(query.description !== undefined ? { description: query.description } : {}),
        },
        unmodelled,
      );
    } else {
      const input = new ZodValidationPipe(createPlanBodySchema, 'body').transform(body);
      created = await this.plans.create(ctx, input);
    }
    setEtag(res, created.version);
    res.setHeader('Location', `/api/v1/plans/${encodeURIComponent(created.planId)}`);
    return created;
  }

  @Get('plans')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'Partition plans, sorted by id (keyset pagination)' })
  @queryParams(listPlansQuerySchema)
  @ApiResponse({ status: 200, description: 'A page of plans', schema: openApiSchema(planPageSchema) })
  @problem(
    400,
    'VALIDATION_FAILED: a query parameter is invalid; INVALID_CURSOR: a cursor this list did not issue',
  )
  list(
    @Query(new ZodValidationPipe(listPlansQuerySchema, 'query')) query: ListPlansQuery,
  ): Promise<Page<PlanSummary>> {
    return this.plans.list(query.limit, query.cursor?.[0]);
  }

  // Before `plans/:id`: a POST to `plans:validate` must not be read as a plan id.
  @Post('plans\\:validate')
  @HttpCode(200)
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Validate a plan against an imported board without saving it',
    description:
      'Every violation of the ACRN rules (docs/acrn-rules.md) with its rule code, severity, VMs and pCPUs; ' +
      '`valid` is false when any has error severity. JSON: `{ plan, board? }`; XML: the scenario XML as the ' +
      'body with `?board=` optional. The board is the imported board named by `board`, else the one the ' +
      'plan names (404 BOARD_NOT_FOUND / 422 BOARD_NOT_IMPORTED when it was not imported); with ' +
      '`deviceId`, the board that device reports, which is what assigning the plan to it will check ' +
      '(422 BOARD_NOT_REPORTED before its first birth; 404 DEVICE_NOT_FOUND).',
  })
  @queryParams(validatePlanQuerySchema)
  @ApiConsumes('application/json', 'application/xml', 'text/xml')
  @xmlBody
  @ApiResponse({ status: 200, description: 'The violations', schema: openApiSchema(validateResponseSchema) })
  @applyAll(xmlProblems)
  @problem(404, 'BOARD_NOT_FOUND: the named board was not imported')
  @problem(
    422,
    'INVALID_PARTITION_PLAN, SCENARIO_INVALID, XML_WRONG_ROOT, BOARD_NOT_IMPORTED, BOARD_NOT_REPORTED',
  )
  async validate(
    @Body() body: unknown,
    @Query(new ZodValidationPipe(validatePlanQuerySchema, 'query')) query: ValidatePlanQuery,
    @Req() req: Request,
    @CurrentActor() actor: Actor,
  ): Promise<ValidateResponse> {
    if (isXmlUpload(req, query.format)) {
      const xml = xmlBodyText(body, 'scenario');
      const { value: plan, unmodelled } = importScenarioXml(xml, {
        board: query.board,
        scenario: query.scenario,
      });
      const device = query.deviceId ? { actor, deviceId: query.deviceId } : undefined;
      return { ...(await this.plans.validate(plan, query.board, device)), unmodelled };
    }
    const input = new ZodValidationPipe(validatePlanBodySchema, 'body').transform(body);
    const plan = this.plans.parse(null, input.plan);
    const deviceId = input.deviceId ?? query.deviceId;
    const device = deviceId ? { actor, deviceId } : undefined;
    return { ...(await this.plans.validate(plan, input.board ?? query.board, device)), unmodelled: [] };
  }

  @Get('plans/:id')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'A plan with its latest revision',
    description: 'Read from the plan\u2019s stream; `ETag: "<stream version>"` for If-Match on a revision.',
  })
  @planIdParam
  @ApiResponse({ status: 200, description: 'The plan', schema: openApiSchema(planResponseSchema) })
  @problem(400, 'VALIDATION_FAILED: the plan id is malformed')
  @problem(404, 'PARTITION_PLAN_NOT_FOUND')
  async get(
    @Param('id', idPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PlanResponse> {
    const loaded = await this.plans.load(id);
    setEtag(res, loaded.version);
    return planResponse(loaded, loaded.state.revisions.length);
  }

  @Get('plans/:id/revisions/:n')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'One revision of a plan (revisions never change)' })
  @planIdParam
  @revisionParam
  @ApiResponse({ status: 200, description: 'The revision', schema: openApiSchema(planResponseSchema) })
  @problem(400, 'VALIDATION_FAILED: the plan id or revision is malformed')
  @problem(404, 'PARTITION_PLAN_NOT_FOUND, PARTITION_PLAN_REVISION_NOT_FOUND')
  async revision(
    @Param('id', idPipe) id: string,
    @Param('n', revisionPipe) n: number,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PlanResponse> {
    const loaded = await this.plans.load(id);
    setEtag(res, loaded.version);
    return planResponse(loaded, n);
  }

  @Get('plans/:id/revisions/:n/scenario.xml')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'A plan revision as ACRN scenario XML (for the ACRN configurator and build)',
    description: 'Written by @hyperfleet/acrn; `?download=true` adds Content-Disposition: attachment.',
  })
  @planIdParam
  @revisionParam
  @queryParams(exportQuerySchema)
  @ApiProduces('application/xml')
  @ApiResponse({ status: 200, description: 'Scenario XML', schema: { type: 'string' } })
  @problem(400, 'VALIDATION_FAILED: the plan id or revision is malformed')
  @problem(404, 'PARTITION_PLAN_NOT_FOUND, PARTITION_PLAN_REVISION_NOT_FOUND')
  async exportXml(
    @Param('id', idPipe) id: string,
    @Param('n', revisionPipe) n: number,
    @Query(new ZodValidationPipe(exportQuerySchema, 'query')) query: { download?: 'true' | 'false' },
    @Res() res: Response,
  ): Promise<void> {
    const loaded = await this.plans.load(id);
    const plan = planResponse(loaded, n).plan;
    const xml = scenarioXmlOf(plan as never);
    if (query.download === 'true') {
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="${id.replace(/[^A-Za-z0-9._-]/g, '_')}-r${n}.xml"`,
      );
    }
    res.status(200).type('application/xml; charset=utf-8').send(xml);
  }

  @Post('plans/:id/revisions')
  @Requires('plans:write')
  @ApiOperation({
    summary: 'Revise a plan: the next revision, from plan JSON or scenario XML',
    description:
      'JSON: `{ basedOnRevision?, plan }`; XML: the scenario XML as the body, `?basedOnRevision=` optional. ' +
      'A `basedOnRevision` that is not the latest is 409 PLAN_REVISION_CONFLICT; `If-Match: "<version>"` ' +
      '(the ETag of GET /plans/{id}) that is not the stream\u2019s version is 412. The same plan as the ' +
      'latest revision writes nothing (200, changed: false); a new revision is 201. Validated against the ' +
      'imported board the plan names, as on create.',
  })
  @planIdParam
  @queryParams(revisePlanQuerySchema)
  @ApiConsumes('application/json', 'application/xml', 'text/xml')
  @xmlBody
  @ApiResponse({ status: 201, description: 'Revised', schema: openApiSchema(planWriteResponseSchema) })
  @ApiResponse({ status: 200, description: 'Unchanged', schema: openApiSchema(planWriteResponseSchema) })
  @applyAll(xmlProblems)
  @problem(404, 'PARTITION_PLAN_NOT_FOUND')
  @problem(409, 'PLAN_REVISION_CONFLICT')
  @problem(412, 'PRECONDITION_FAILED: If-Match is not the plan\u2019s version')
  @problem(422, 'INVALID_PARTITION_PLAN, SCENARIO_INVALID, XML_WRONG_ROOT, PLAN_DOES_NOT_FIT_BOARD')
  async revise(
    @Param('id', idPipe) id: string,
    @Body() body: unknown,
    @Query(new ZodValidationPipe(revisePlanQuerySchema, 'query')) query: RevisePlanQuery,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const ctx = { actor, expectedVersion: expectedVersionFrom(req) };
    let revised: PlanWriteResponse;
    if (isXmlUpload(req, query.format)) {
      const xml = xmlBodyText(body, 'scenario');
      const { value: plan, unmodelled } = importScenarioXml(xml, {
        board: query.board,
        scenario: query.scenario ?? id,
      });
      revised = await this.plans.revise(
        ctx,
        id,
        { basedOnRevision: query.basedOnRevision, plan },
        unmodelled,
      );
    } else {
      const input = new ZodValidationPipe(revisePlanBodySchema, 'body').transform(body);
      revised = await this.plans.revise(ctx, id, input);
    }
    setEtag(res, revised.version);
    res.setHeader('Location', `/api/v1/plans/${encodeURIComponent(id)}/revisions/${revised.revision}`);
    res.status(revised.changed ? 201 : 200).json(revised);
  }

  @Post('plans/:id\\:assign')
  @HttpCode(200)
  @Requires('plans:assign')
  @ApiOperation({
    summary: 'Assign a plan revision to one device, or to every device matching a filter',
    description:
      '`{ revision?, deviceId }`: AssignPartitionPlan for the device; a refusal is the domain\u2019s code ' +
      '(404 DEVICE_NOT_PROVISIONED, 422 PLAN_DEVICE_CLASS_MISMATCH, DEVICE_BOARD_UNKNOWN, PLAN_DOES_NOT_FIT_BOARD); ' +
      'If-Match applies to the device\u2019s hypervisor stream. `{ revision?, filter }`: the same per matching ' +
      'device in the caller\u2019s scope, a few at a time; refusals are listed per device. Without ' +
      '`revision`, the latest revision, pinned for every device.',
  })
  @planIdParam
  @ApiBody({ schema: openApiSchema(assignPlanBodySchema) })
  @ApiResponse({
    status: 200,
    description: 'One device: the assignment; a filter: per-device outcomes',
    schema: { oneOf: [openApiSchema(singleAssignmentSchema), openApiSchema(bulkAssignmentSchema)] },
  })
  @problem(400, 'VALIDATION_FAILED, MALFORMED_JSON')
  @problem(
    404,
    'PARTITION_PLAN_NOT_FOUND, PARTITION_PLAN_REVISION_NOT_FOUND, DEVICE_NOT_FOUND, DEVICE_NOT_PROVISIONED',
  )
  @problem(409, 'CONCURRENCY_CONFLICT')
  @problem(412, 'PRECONDITION_FAILED')
  @problem(422, 'PLAN_DEVICE_CLASS_MISMATCH, DEVICE_BOARD_UNKNOWN, PLAN_DOES_NOT_FIT_BOARD')
  async assign(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(assignPlanBodySchema, 'body')) body: AssignPlanBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SingleAssignment | BulkAssignment> {
    if (body.deviceId !== undefined) {
      const one = await this.plans.assignOne(
        { actor, expectedVersion: expectedVersionFrom(req) },
        id,
        body.deviceId,
        body.revision,
      );
      setEtag(res, one.version);
      return one;
    }
    return this.plans.assignFilter({ actor }, id, body.filter!, body.revision);
  }
}
