import { Body, Controller, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { Public, Requires } from '../auth/auth.types';
import { openApiSchema } from '../devices/devices.schemas';
import { ApiError } from '../http/api-error';
import { problem } from '../scheduling/scheduling.controller';
import { UptaneService, type MetadataRole } from './uptane.service';

const signedMetadataSchema = z
  .object({
    signed: z.record(z.string(), z.unknown()),
    signatures: z.array(z.record(z.string(), z.unknown())),
  })
  .describe('TUF metadata as its signer wrote it: { signed, signatures }');
const FILE = /^(?:(\d{1,9})\.)?(root|targets|snapshot|timestamp)\.json$/;

@ApiTags('uptane')
@Controller('api/v1/uptane/image-repository')
export class UptaneController {
  constructor(private readonly uptane: UptaneService) {}

  @Get('status')
  @Requires('fleet:read')
  @ApiOperation({ summary: "The Image repository's metadata versions, expiries, key ids and online keys" })
  @ApiResponse({ status: 200, description: 'Status' })
  status() {
    return this.uptane.status();
  }

  @Put('root')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({
    summary:
      'Upload the next root.json (signed offline; a rotation is signed by the old and the new root keys)',
  })
  @ApiBody({ schema: openApiSchema(signedMetadataSchema) })
  @ApiResponse({ status: 200, description: 'Stored' })
  @problem(409, 'UPTANE_VERSION_EXISTS')
  @problem(422, 'UPTANE_METADATA_INVALID')
  putRoot(@Body() body: unknown) {
    return this.uptane.putRoot(body);
  }

  @Put('targets')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'Upload targets.json signed offline; the server signs snapshot.json and timestamp.json online',
  })
  @ApiBody({ schema: openApiSchema(signedMetadataSchema) })
  @ApiResponse({ status: 200, description: 'Stored, with the new snapshot and timestamp versions' })
  @problem(
    409,
    'UPTANE_ROOT_MISSING, UPTANE_ONLINE_KEYS_MISSING, UPTANE_ONLINE_KEYS_UNTRUSTED or UPTANE_VERSION_EXISTS',
  )
  @problem(422, 'UPTANE_METADATA_INVALID')
  putTargets(@Body() body: unknown) {
    return this.uptane.putTargets(body);
  }

  @Get(':file')
  @Public()
  @ApiOperation({
    summary:
      'Image repository metadata for devices: root.json, N.root.json, targets.json, snapshot.json, timestamp.json',
    description: 'Public: TUF metadata is protected by its signatures, not by who may read it.',
  })
  @ApiParam({ name: 'file', schema: { type: 'string', pattern: FILE.source } })
  @ApiResponse({ status: 200, description: 'The signed metadata' })
  @problem(404, 'UPTANE_METADATA_NOT_FOUND')
  async file(@Param('file') file: string, @Res() res: Response): Promise<void> {
    const m = FILE.exec(file);
    if (!m) throw new ApiError(404, 'UPTANE_METADATA_NOT_FOUND', `No metadata file ${file.slice(0, 100)}`);
    const found = await this.uptane.latest(
      m[2] as MetadataRole,
      m[1] === undefined ? undefined : Number(m[1]),
    );
    if (!found) throw new ApiError(404, 'UPTANE_METADATA_NOT_FOUND', `No ${file} yet`, { file });
    // Byte for byte what was signed and hashed.
    res.status(200).type('application/json').send(found.body);
  }
}
