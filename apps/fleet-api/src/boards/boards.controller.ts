import { Body, Controller, Get, Param, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { commandActor, CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { openApiSchema } from '../devices/devices.schemas';
import { ApiError } from '../http/api-error';
import { expectedVersionFrom, setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { importBoardXml, MAX_XML_BYTES, sha256Hex, withRootAttributes, xmlBodyText } from '../plans/acrn-xml';
import { problem, queryParams } from '../scheduling/scheduling.controller';
import { pageOf, type Page } from '../scheduling/pagination';
import { BoardStore, boardNotFound, closCapacityOf, type StoredBoard } from './board.store';
import {
  boardImportResponseSchema,
  boardListQuerySchema,
  boardNameSchema,
  boardPageSchema,
  boardResponseSchema,
  type BoardImportResponse,
  type BoardListQuery,
  type BoardResponse,
  type BoardSummary,
} from './boards.schemas';

const boardNameParam = ApiParam({
  name: 'boardName',
  description: 'Board name',
  schema: openApiSchema(boardNameSchema),
});
const namePipe = new ZodValidationPipe(boardNameSchema, 'path');

export function boardSummary(s: StoredBoard): BoardSummary {
  const b = s.board;
  return {
    name: s.name,
    cpuModel: b.cpuModel ?? null,
    pcpuCount: b.pcpus.length,
    coreTypes: [...new Set(b.pcpus.map((p) => p.coreType))].sort(),
    caches: b.caches.map((c) => ({
      level: c.level,
      id: c.id,
      type: c.type,
      ways: c.ways,
      sizeBytes: c.sizeBytes,
      pcpus: c.pcpus,
      cat: c.cat ?? null,
      softwareSram: c.softwareSram !== undefined,
    })),
    closCapacity: closCapacityOf(b),
    memoryBytes: b.memory.totalBytes,
    deviceCount: b.devices.length,
    xmlSha256: s.xmlSha256,
    xmlBytes: s.xmlBytes,
    revision: s.revision,
    importedAt: s.importedAt,
    importedBy: s.importedBy,
  };
}

const boardResponse = (s: StoredBoard): BoardResponse => ({ ...boardSummary(s), board: s.board });

@ApiTags('boards')
@Controller('api/v1/boards')
export class BoardsController {
  constructor(private readonly boards: BoardStore) {}

  @Put(':boardName')
  @Requires('plans:write')
  @ApiOperation({
    summary: 'Import an ACRN board XML (the board inspector output) under a board name',
    description:
      'Parsed with @hyperfleet/acrn; the board model and the sha256 of the XML are stored. Plans that name ' +
      'this board are validated against it (`POST /api/v1/plans:validate`, create, revise). The XML\u2019s ' +
      '`acrn-config/@board` must be the name in the path (when absent, the path names it). The same XML ' +
      `again changes nothing; other XML replaces the board and counts a revision (the ETag; If-Match honoured). ` +
      `Body: Content-Type application/xml or text/xml, at most ${MAX_XML_BYTES} bytes.`,
  })
  @boardNameParam
  @ApiConsumes('application/xml', 'text/xml')
  @ApiBody({ schema: { type: 'string', description: 'ACRN board XML' } })
  @ApiResponse({ status: 201, description: 'Imported', schema: openApiSchema(boardImportResponseSchema) })
  @ApiResponse({
    status: 200,
    description: 'Replaced, or unchanged',
    schema: openApiSchema(boardImportResponseSchema),
  })
  @problem(
    400,
    'XML_MALFORMED, XML_DTD_FORBIDDEN, XML_TOO_DEEP\u2026 (libs/acrn\u2019s code for XML it refuses), EMPTY_BODY, INVALID_IF_MATCH',
  )
  @problem(412, 'PRECONDITION_FAILED: If-Match names another revision')
  @problem(413, 'PAYLOAD_TOO_LARGE')
  @problem(415, 'UNSUPPORTED_MEDIA_TYPE: not an XML body')
  @problem(422, 'BOARD_INVALID, XML_WRONG_ROOT, BOARD_NAME_MISMATCH')
  async put(
    @Param('boardName', namePipe) boardName: string,
    @Body() body: unknown,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const xml = xmlBodyText(body, 'board');
    const expected = expectedVersionFrom(req);
    const { value: board, unmodelled } = importBoardXml(withRootAttributes(xml, { board: boardName }));
    if (board.name !== boardName) {
      throw new ApiError(
        422,
        'BOARD_NAME_MISMATCH',
        `The board XML is for board ${board.name}, not ${boardName}`,
        { boardName, xmlBoardName: board.name },
      );
    }
    const result = await this.boards.put(
      board,
      { sha256: sha256Hex(xml), bytes: Buffer.byteLength(xml, 'utf8') },
      commandActor(actor),
      expected,
    );
    if ('conflict' in result) {
      throw new ApiError(
        412,
        'PRECONDITION_FAILED',
        `Board ${boardName} is at revision ${result.conflict}, not at the If-Match revision ${expected}`,
        { boardName, expectedRevision: expected, actualRevision: result.conflict },
      );
    }
    // Answered here: 201 or 200 depends on the outcome, which a route's fixed status cannot say.
    setEtag(res, result.stored.revision);
    const answer: BoardImportResponse = {
      ...boardResponse(result.stored),
      outcome: result.outcome,
      unmodelled,
    };
    res.status(result.outcome === 'created' ? 201 : 200).json(answer);
  }

  @Get()
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Imported boards: name, CPU model, pCPU count, caches with CAT, imported at and by',
    description: 'Sorted by name; keyset pagination.',
  })
  @queryParams(boardListQuerySchema)
  @ApiResponse({ status: 200, description: 'A page of boards', schema: openApiSchema(boardPageSchema) })
  @problem(
    400,
    'VALIDATION_FAILED: a query parameter is invalid; INVALID_CURSOR: a cursor this list did not issue',
  )
  async list(
    @Query(new ZodValidationPipe(boardListQuerySchema, 'query')) query: BoardListQuery,
  ): Promise<Page<BoardSummary>> {
    const rows = await this.boards.list(query.limit, query.cursor?.[0]);
    return pageOf(rows, query.limit, boardSummary, (r) => [r.name]);
  }

  @Get(':boardName')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'One imported board: its summary and the full board model' })
  @boardNameParam
  @ApiResponse({ status: 200, description: 'The board', schema: openApiSchema(boardResponseSchema) })
  @problem(400, 'VALIDATION_FAILED: the board name is malformed')
  @problem(404, 'BOARD_NOT_FOUND')
  async get(
    @Param('boardName', namePipe) boardName: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<BoardResponse> {
    const stored = await this.boards.get(boardName);
    if (!stored) throw boardNotFound(boardName);
    setEtag(res, stored.revision);
    return boardResponse(stored);
  }
}
