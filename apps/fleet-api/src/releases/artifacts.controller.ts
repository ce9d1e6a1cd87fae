import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ARTIFACT_STORE, UrlSigner, type ArtifactStore } from '@hyperfleet/artifacts';
import { Public, Requires } from '../auth/auth.types';
import { openApiSchema } from '../devices/devices.schemas';
import { ApiError } from '../http/api-error';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { problem, queryParams } from '../scheduling/scheduling.controller';
import { sendArtifact } from './artifact-http';
import { sha256Schema, signedDownloadQuerySchema, type SignedDownloadQuery } from './releases.schemas';

const shaParam = ApiParam({
  name: 'sha256',
  description: 'sha256 of the artifact',
  schema: openApiSchema(sha256Schema),
});
const shaPipe = new ZodValidationPipe(sha256Schema, 'path');

async function artifactOrNotFound(store: ArtifactStore, sha256: string) {
  const stat = await store.stat(sha256);
  if (!stat) throw new ApiError(404, 'ARTIFACT_NOT_FOUND', `No artifact with sha256 ${sha256}`, { sha256 });
  return { sha256, length: stat.length };
}

@ApiTags('releases')
@Controller('api/v1/artifacts')
export class ArtifactsController {
  constructor(@Inject(ARTIFACT_STORE) private readonly store: ArtifactStore) {}

  @Get(':sha256')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Download an artifact by its sha256 (Range, If-Range, If-None-Match; ETag is the sha256)',
  })
  @ApiProduces('application/octet-stream')
  @shaParam
  @ApiResponse({ status: 200, description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 206, description: 'The requested range (Content-Range)' })
  @ApiResponse({ status: 304, description: 'Not modified' })
  @problem(404, 'ARTIFACT_NOT_FOUND')
  @problem(416, 'RANGE_NOT_SATISFIABLE')
  async download(@Param('sha256', shaPipe) sha256: string, @Req() req: Request, @Res() res: Response) {
    await sendArtifact(req, res, this.store, await artifactOrNotFound(this.store, sha256));
  }
}

/** Devices download with a signed link and no credential (POST …/images/{imageId}:sign-url makes one). */
@ApiTags('releases')
@Controller('api/v1/artifact-downloads')
export class SignedDownloadsController {
  constructor(
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    private readonly signer: UrlSigner,
  ) {}

  @Get(':sha256')
  @Public()
  @ApiOperation({
    summary: 'Download an artifact with a signed link (no credential; Range for resuming)',
    description: 'The query comes from a sign-url answer and must not be changed.',
  })
  @ApiProduces('application/octet-stream')
  @shaParam
  @queryParams(signedDownloadQuerySchema, ['expires', 'sig'])
  @ApiResponse({ status: 200, description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 206, description: 'The requested range (Content-Range)' })
  @problem(400, 'VALIDATION_FAILED')
  @problem(403, 'URL_EXPIRED or URL_SIGNATURE_INVALID')
  @problem(404, 'ARTIFACT_NOT_FOUND')
  @problem(416, 'RANGE_NOT_SATISFIABLE')
  async download(
    @Param('sha256', shaPipe) sha256: string,
    @Query(new ZodValidationPipe(signedDownloadQuerySchema, 'query')) query: SignedDownloadQuery,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const check = this.signer.check(
      {
        path: `/api/v1/artifact-downloads/${sha256}`,
        expires: Number(query.expires),
        deviceId: query.device,
      },
      query.sig,
      Math.floor(Date.now() / 1000),
    );
    if (!check.ok) {
      throw new ApiError(
        403,
        check.code,
        check.code === 'URL_EXPIRED'
          ? 'This download link has expired; ask for a new one'
          : 'This download link is not one the fleet API signed (changed or truncated)',
      );
    }
    await sendArtifact(req, res, this.store, await artifactOrNotFound(this.store, sha256));
  }
}
