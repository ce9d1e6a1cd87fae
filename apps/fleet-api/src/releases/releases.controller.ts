import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
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
import {
  ARTIFACT_STORE,
  isArtifactError,
  UrlSigner,
  type ArtifactStore,
  type PutArtifactResult,
} from '@hyperfleet/artifacts';
import {
  AddReleaseImage,
  DeprecateRelease,
  DraftRelease,
  PublishRelease,
  RecordReleaseImageUpload,
  YankRelease,
  incompatibilities,
  type CommandMeta,
  type ReleaseState,
} from '@hyperfleet/domain';
import type { ArtifactsConfig } from '@hyperfleet/platform';
import { commandActor, CurrentActor, Requires, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { openApiSchema } from '../devices/devices.schemas';
import { ApiError } from '../http/api-error';
import { expectedVersionFrom, setEtag } from '../http/preconditions';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { problem, queryParams } from '../scheduling/scheduling.controller';
import { closeAfterResponse, requestBody, sendArtifact } from './artifact-http';
import { ARTIFACTS_CONFIG } from './releases.tokens';
import {
  addImageBodySchema,
  compatibilityQuerySchema,
  compatibilityResponseSchema,
  createReleaseBodySchema,
  imageIdSchema,
  listReleasesQuerySchema,
  reasonBodySchema,
  releaseIdSchema,
  releaseListResponseSchema,
  releaseResponseSchema,
  signedUrlResponseSchema,
  signUrlBodySchema,
  uploadResponseSchema,
  yankBodySchema,
  type AddImageBody,
  type CreateReleaseBody,
  type ListReleasesQuery,
  type ReasonBody,
  type ReleaseResponse,
  type SignUrlBody,
  type YankBody,
} from './releases.schemas';
import { releaseResponse, ReleasesService, type LoadedRelease } from './releases.service';

const releaseIdParam = ApiParam({
  name: 'id',
  description: 'Release id',
  schema: openApiSchema(releaseIdSchema),
});
const imageIdParam = ApiParam({
  name: 'imageId',
  description: 'Image id',
  schema: openApiSchema(imageIdSchema),
});
const idPipe = new ZodValidationPipe(releaseIdSchema, 'path');
const imagePipe = new ZodValidationPipe(imageIdSchema, 'path');
const releaseAnswer = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(releaseResponseSchema) });

/** The path of a signed download: the artifact by sha256 (what is signed, with the expiry and device). */
export const signedDownloadPath = (sha256: string) => `/api/v1/artifact-downloads/${sha256}`;

@ApiTags('releases')
@Controller('api/v1/releases')
export class ReleasesController {
  constructor(
    private readonly releases: ReleasesService,
    private readonly scope: DeviceScope,
    private readonly signer: UrlSigner,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
  ) {}

  @Post()
  @HttpCode(201)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'Draft a release',
    description:
      'A new release in `draft`: name, semver-ish version and compatibility (device classes, boards, the ' +
      'partition plan revision it was built for, the versions a device must run now). Add images, upload ' +
      'their bytes, then publish.',
  })
  @ApiBody({ schema: openApiSchema(createReleaseBodySchema) })
  @releaseAnswer(201, 'Drafted')
  @problem(400, 'VALIDATION_FAILED or MALFORMED_JSON')
  @problem(404, 'PARTITION_PLAN_NOT_FOUND or PARTITION_PLAN_REVISION_NOT_FOUND')
  @problem(409, 'RELEASE_ALREADY_EXISTS')
  @problem(422, 'INVALID_RELEASE_VERSION, RELEASE_PLAN_MISMATCH, INVALID_PARTITION_PLAN or INVALID_COMMAND')
  async create(
    @Body(new ZodValidationPipe(createReleaseBodySchema, 'body')) body: CreateReleaseBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReleaseResponse> {
    await this.releases.execute(new DraftRelease(body, meta(actor, req)));
    return this.answer(body.releaseId, res);
  }

  @Get()
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'List releases; with deviceId, what that device can take now',
    description:
      'Filters combine. With `deviceId`, only published releases compatible with the device as the fleet ' +
      'inventory knows it (class, board, desired plan, current versions, image dependencies); never a ' +
      'draft, a deprecated or a yanked release.',
  })
  @queryParams(listReleasesQuerySchema)
  @ApiResponse({ status: 200, description: 'Releases', schema: openApiSchema(releaseListResponseSchema) })
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'DEVICE_NOT_FOUND')
  async list(
    @Query(new ZodValidationPipe(listReleasesQuerySchema, 'query')) query: ListReleasesQuery,
    @CurrentActor() actor: Actor,
  ) {
    let all = await this.releases.list();
    const device = query.deviceId ? await this.device(actor, query.deviceId) : null;
    const keep = (s: ReleaseState) =>
      (query.status === undefined || s.status === query.status) &&
      (query.deviceClass === undefined ||
        s.compatibility.deviceClasses.length === 0 ||
        s.compatibility.deviceClasses.some((c) => c === query.deviceClass)) &&
      (query.boardName === undefined ||
        s.compatibility.boardNames.length === 0 ||
        s.compatibility.boardNames.includes(query.boardName)) &&
      (query.planId === undefined || s.compatibility.partitionPlan?.planId === query.planId) &&
      (device === null || incompatibilities(s, device).length === 0);
    all = all.filter((r) => keep(r.state));
    return { items: all.map(releaseResponse), device };
  }

  @Get(':id')
  @Requires('fleet:read')
  @ApiOperation({ summary: 'One release with its images; ETag is its stream version' })
  @releaseIdParam
  @releaseAnswer(200, 'The release')
  @problem(404, 'RELEASE_NOT_FOUND')
  get(@Param('id', idPipe) id: string, @Res({ passthrough: true }) res: Response): Promise<ReleaseResponse> {
    return this.answer(id, res);
  }

  @Get(':id/compatibility')
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Whether a device can take this release, and every reason it cannot',
    description:
      'Reasons: ' +
      'RELEASE_NOT_OFFERED, DEVICE_CLASS_NOT_COMPATIBLE, BOARD_NOT_COMPATIBLE, ' +
      'PLAN_NOT_COMPATIBLE, CURRENT_VERSION_OUT_OF_RANGE, DEPENDENCY_UNSATISFIED.',
  })
  @releaseIdParam
  @queryParams(compatibilityQuerySchema, ['deviceId'])
  @ApiResponse({
    status: 200,
    description: 'The verdict',
    schema: openApiSchema(compatibilityResponseSchema),
  })
  @problem(404, 'RELEASE_NOT_FOUND or DEVICE_NOT_FOUND')
  async compatibility(
    @Param('id', idPipe) id: string,
    @Query(new ZodValidationPipe(compatibilityQuerySchema, 'query')) query: { deviceId: string },
    @CurrentActor() actor: Actor,
  ) {
    const release = await this.releases.load(id);
    const device = await this.device(actor, query.deviceId);
    const reasons = incompatibilities(release.state, device);
    return { releaseId: id, deviceId: query.deviceId, compatible: reasons.length === 0, reasons };
  }

  @Post(':id/images')
  @HttpCode(201)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'Declare an image of a draft release (metadata: target, version, length, sha256, sha512)',
    description:
      'A hypervisor image names the board and the partition plan revision compiled into acrn.bin: the ' +
      "plan's board must be that board. An rt-vm image names an RTVM of the release's plan. The bytes are " +
      'uploaded next, with PUT …/content, and must match.',
  })
  @releaseIdParam
  @ApiBody({ schema: openApiSchema(addImageBodySchema) })
  @releaseAnswer(201, 'The release with the image')
  @problem(400, 'VALIDATION_FAILED')
  @problem(404, 'RELEASE_NOT_FOUND, PARTITION_PLAN_NOT_FOUND or PARTITION_PLAN_REVISION_NOT_FOUND')
  @problem(409, 'RELEASE_NOT_DRAFT, RELEASE_IMAGE_ALREADY_EXISTS or RELEASE_IMAGE_TARGET_TAKEN')
  @problem(
    422,
    'HYPERVISOR_BOARD_MISMATCH, RELEASE_PLAN_MISMATCH, RTVM_NOT_IN_PLAN, INVALID_PARTITION_PLAN, INVALID_RELEASE_VERSION',
  )
  async addImage(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(addImageBodySchema, 'body')) body: AddImageBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReleaseResponse> {
    await this.releases.execute(new AddReleaseImage({ ...body, releaseId: id }, meta(actor, req)));
    return this.answer(id, res);
  }

  @Put(':id/images/:imageId/content')
  @Requires('releases:write')
  @ApiOperation({
    summary: "Upload an image's bytes (streamed; hashed on the way in; stored once by sha256)",
    description:
      'Body: the raw bytes as application/octet-stream (never buffered whole). The length, sha256 and ' +
      'sha512 must be the declared ones, else 422 and nothing is kept; beyond ARTIFACT_MAX_BYTES 413 as ' +
      'soon as the limit is passed. The same bytes uploaded again are stored once (`stored: existing`).',
  })
  @ApiConsumes('application/octet-stream')
  @releaseIdParam
  @imageIdParam
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse({
    status: 200,
    description: 'Stored and recorded',
    schema: openApiSchema(uploadResponseSchema),
  })
  @problem(400, 'UPLOAD_INCOMPLETE')
  @problem(404, 'RELEASE_NOT_FOUND or RELEASE_IMAGE_NOT_FOUND')
  @problem(409, 'RELEASE_NOT_DRAFT')
  @problem(413, 'ARTIFACT_TOO_LARGE')
  @problem(415, 'UNSUPPORTED_MEDIA_TYPE')
  @problem(422, 'IMAGE_HASH_MISMATCH or IMAGE_LENGTH_MISMATCH')
  async upload(
    @Param('id', idPipe) id: string,
    @Param('imageId', imagePipe) imageId: string,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    try {
      const contentType = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim();
      if (contentType.toLowerCase() !== 'application/octet-stream') {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Upload the image as application/octet-stream', {
          contentType: contentType.slice(0, 100),
        });
      }
      const { state } = await this.releases.load(id);
      const image = state.images.find((i) => i.imageId === imageId);
      if (!image) {
        throw new ApiError(404, 'RELEASE_IMAGE_NOT_FOUND', `Release ${id} has no image ${imageId}`, {
          releaseId: id,
          imageId,
        });
      }
      if (state.status !== 'draft' && image.uploadedAt === null) {
        throw new ApiError(
          409,
          'RELEASE_NOT_DRAFT',
          `Release ${id} is ${state.status}; only a draft changes`,
          {
            releaseId: id,
            status: state.status,
          },
        );
      }
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > this.config.maxBytes) {
        throw tooLarge(this.config.maxBytes);
      }
      if (declared !== undefined && Number(declared) !== image.length) {
        throw new ApiError(
          422,
          'IMAGE_LENGTH_MISMATCH',
          `The upload is ${declared} bytes; ${image.length} were declared for image ${imageId}`,
          { releaseId: id, imageId, declared: image.length, received: Number(declared) },
        );
      }
      let stored: PutArtifactResult;
      try {
        stored = await this.store.put(requestBody(req), {
          maxBytes: Math.min(this.config.maxBytes, image.length),
          expected: { length: image.length, sha256: image.sha256, sha512: image.sha512 },
        });
      } catch (error) {
        if (!isArtifactError(error)) throw error;
        const details = { releaseId: id, imageId, ...error.details };
        switch (error.code) {
          case 'ARTIFACT_TOO_LARGE':
            // The image's declared length is the tighter limit: more bytes than declared is a mismatch.
            if (image.length < this.config.maxBytes) {
              throw new ApiError(
                422,
                'IMAGE_LENGTH_MISMATCH',
                `The upload is longer than the ${image.length} bytes declared for image ${imageId}`,
                details,
              );
            }
            throw tooLarge(this.config.maxBytes);
          case 'ARTIFACT_LENGTH_MISMATCH':
            throw new ApiError(422, 'IMAGE_LENGTH_MISMATCH', error.message, details);
          case 'ARTIFACT_HASH_MISMATCH':
            throw new ApiError(422, 'IMAGE_HASH_MISMATCH', error.message, details);
          case 'UPLOAD_INCOMPLETE':
            throw new ApiError(400, 'UPLOAD_INCOMPLETE', error.message, details);
        }
      }
      const outcome = await this.releases.execute(
        new RecordReleaseImageUpload(
          { releaseId: id, imageId, length: stored.length, sha256: stored.sha256, sha512: stored.sha512 },
          meta(actor, req),
        ),
      );
      setEtag(res, outcome.version);
      return {
        releaseId: id,
        imageId,
        sha256: stored.sha256,
        sha512: stored.sha512,
        length: stored.length,
        stored: stored.stored,
        streamVersion: outcome.version,
      };
    } finally {
      closeAfterResponse(req, res);
    }
  }

  @Get(':id/images/:imageId/content')
  @Requires('fleet:read')
  @ApiOperation({
    summary: "Download an image's bytes (Range, If-Range, If-None-Match; ETag is the sha256)",
  })
  @ApiProduces('application/octet-stream')
  @releaseIdParam
  @imageIdParam
  @ApiResponse({ status: 200, description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 206, description: 'The requested range (Content-Range)' })
  @ApiResponse({ status: 304, description: 'Not modified (If-None-Match matched the sha256)' })
  @problem(404, 'RELEASE_NOT_FOUND, RELEASE_IMAGE_NOT_FOUND or ARTIFACT_NOT_FOUND (not uploaded)')
  @problem(416, 'RANGE_NOT_SATISFIABLE')
  async download(
    @Param('id', idPipe) id: string,
    @Param('imageId', imagePipe) imageId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { image } = await this.uploadedImage(id, imageId);
    await sendArtifact(req, res, this.store, image);
  }

  @Post(':id/images/:imageId\\:sign-url')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'A short-lived download link for a device (no credential needed until it expires)',
    description:
      'GET the returned path (on this API) with its query: `expires` (unix seconds), `device` and `sig` ' +
      '(HMAC-SHA256 over path, expiry and device). A changed link is 403 URL_SIGNATURE_INVALID, an old one ' +
      '403 URL_EXPIRED. Not for yanked releases.',
  })
  @releaseIdParam
  @imageIdParam
  @ApiBody({ schema: openApiSchema(signUrlBodySchema) })
  @ApiResponse({ status: 200, description: 'The link', schema: openApiSchema(signedUrlResponseSchema) })
  @problem(404, 'RELEASE_NOT_FOUND, RELEASE_IMAGE_NOT_FOUND or ARTIFACT_NOT_FOUND')
  @problem(409, 'RELEASE_YANKED')
  async signUrl(
    @Param('id', idPipe) id: string,
    @Param('imageId', imagePipe) imageId: string,
    @Body(new ZodValidationPipe(signUrlBodySchema, 'body')) body: SignUrlBody,
  ) {
    const { release, image } = await this.uploadedImage(id, imageId);
    if (release.state.status === 'yanked') {
      throw new ApiError(409, 'RELEASE_YANKED', `Release ${id} was yanked; its images are not handed out`, {
        releaseId: id,
      });
    }
    const expires = Math.floor(Date.now() / 1000) + (body.ttlSeconds ?? this.config.urlTtlSeconds);
    const url = this.signer.sign({
      path: signedDownloadPath(image.sha256),
      expires,
      deviceId: body.deviceId,
    });
    return {
      url,
      expiresAt: new Date(expires * 1000).toISOString(),
      sha256: image.sha256,
      length: image.length,
    };
  }

  @Post(':id\\:publish')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'Publish a draft release (every image uploaded with its declared hashes; dependencies met)',
  })
  @releaseIdParam
  @releaseAnswer(200, 'Published')
  @problem(404, 'RELEASE_NOT_FOUND')
  @problem(409, 'RELEASE_NOT_DRAFT')
  @problem(412, 'PRECONDITION_FAILED (If-Match)')
  @problem(
    422,
    'RELEASE_HAS_NO_IMAGES, IMAGE_UPLOAD_MISSING, IMAGE_HASH_MISMATCH or IMAGE_DEPENDENCY_UNSATISFIED',
  )
  async publish(
    @Param('id', idPipe) id: string,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReleaseResponse> {
    // The domain checks the upload was recorded; the store must still hold the bytes.
    const { state } = await this.releases.load(id);
    const missing: string[] = [];
    for (const image of state.images) {
      const stat = await this.store.stat(image.sha256);
      if (image.uploadedAt !== null && (!stat || stat.length !== image.length)) missing.push(image.imageId);
    }
    if (missing.length > 0) {
      throw new ApiError(
        422,
        'IMAGE_UPLOAD_MISSING',
        `The artifact store no longer holds image(s) ${missing.join(', ')}`,
        {
          releaseId: id,
          imageIds: missing,
        },
      );
    }
    await this.releases.execute(new PublishRelease({ releaseId: id }, meta(actor, req)));
    return this.answer(id, res);
  }

  @Post(':id\\:deprecate')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({ summary: 'Deprecate a published release (no longer offered to devices)' })
  @releaseIdParam
  @ApiBody({ schema: openApiSchema(reasonBodySchema), required: false })
  @releaseAnswer(200, 'Deprecated')
  @problem(404, 'RELEASE_NOT_FOUND')
  @problem(409, 'RELEASE_NOT_PUBLISHED or RELEASE_YANKED')
  async deprecate(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(reasonBodySchema.optional(), 'body')) body: ReasonBody | undefined,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReleaseResponse> {
    await this.releases.execute(
      new DeprecateRelease(
        { releaseId: id, ...(body?.reason !== undefined ? { reason: body.reason } : {}) },
        meta(actor, req),
      ),
    );
    return this.answer(id, res);
  }

  @Post(':id\\:yank')
  @HttpCode(200)
  @Requires('releases:write')
  @ApiOperation({
    summary: 'Yank a published or deprecated release: never offered again; rollouts using it stop',
  })
  @releaseIdParam
  @ApiBody({ schema: openApiSchema(yankBodySchema) })
  @releaseAnswer(200, 'Yanked')
  @problem(400, 'VALIDATION_FAILED (a reason is required)')
  @problem(404, 'RELEASE_NOT_FOUND')
  @problem(409, 'RELEASE_NOT_PUBLISHED')
  async yank(
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(yankBodySchema, 'body')) body: YankBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReleaseResponse> {
    await this.releases.execute(new YankRelease({ releaseId: id, reason: body.reason }, meta(actor, req)));
    return this.answer(id, res);
  }

  private async answer(id: string, res: Response): Promise<ReleaseResponse> {
    const loaded = await this.releases.load(id);
    setEtag(res, loaded.version);
    return releaseResponse(loaded);
  }

  private async device(actor: Actor, deviceId: string) {
    await this.scope.assertVisible(actor, deviceId);
    return this.releases.deviceFacts(deviceId);
  }

  private async uploadedImage(id: string, imageId: string) {
    const release: LoadedRelease = await this.releases.load(id);
    const image = release.state.images.find((i) => i.imageId === imageId);
    if (!image) {
      throw new ApiError(404, 'RELEASE_IMAGE_NOT_FOUND', `Release ${id} has no image ${imageId}`, {
        releaseId: id,
        imageId,
      });
    }
    if (image.uploadedAt === null || !(await this.store.stat(image.sha256))) {
      throw new ApiError(
        404,
        'ARTIFACT_NOT_FOUND',
        `Image ${imageId} of release ${id} has not been uploaded`,
        {
          releaseId: id,
          imageId,
        },
      );
    }
    return { release, image };
  }
}

function meta(actor: Actor, req: Request): CommandMeta {
  const expectedVersion = expectedVersionFrom(req);
  return { actor: commandActor(actor), ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    413,
    'ARTIFACT_TOO_LARGE',
    `Images may be at most ${maxBytes} bytes (ARTIFACT_MAX_BYTES)`,
    {
      maxBytes,
    },
  );
}
