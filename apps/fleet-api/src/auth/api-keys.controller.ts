import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { openApiSchema, problemSchema } from '../devices/devices.schemas';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  apiKeyIdSchema,
  apiKeyListSchema,
  apiKeySchema,
  createApiKeyBodySchema,
  createdApiKeySchema,
  type CreateApiKeyBody,
} from './api-keys.schemas';
import { ApiKeyService, type ApiKeyView } from './api-keys.service';
import { CurrentActor, Requires, type Actor } from './auth.types';

const problem = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(problemSchema) });
const idParam = ApiParam({ name: 'id', description: 'API key id', schema: openApiSchema(apiKeyIdSchema) });
const idPipe = new ZodValidationPipe(apiKeyIdSchema, 'path');
const DAY_MS = 24 * 60 * 60 * 1000;

@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @HttpCode(201)
  @Requires('keys:manage')
  @ApiOperation({
    summary: 'Create an API key (shown once)',
    description:
      'The key is in this response only: Hyperfleet stores its sha256. A scoped credential can only create ' +
      'keys within its own scope. Recorded as the event ApiKeyCreated (stream api-key-<id>).',
  })
  @ApiBody({ schema: openApiSchema(createApiKeyBodySchema) })
  @ApiResponse({ status: 201, description: 'Created', schema: openApiSchema(createdApiKeySchema) })
  @problem(400, 'VALIDATION_FAILED or MALFORMED_JSON')
  @problem(403, 'SCOPE_EXCEEDED: the scope is wider than the creating credential’s')
  async create(
    @Body(new ZodValidationPipe(createApiKeyBodySchema, 'body')) body: CreateApiKeyBody,
    @CurrentActor() actor: Actor,
  ): Promise<{ key: string; apiKey: ApiKeyView }> {
    const expiresAt = body.expiresAt
      ? new Date(body.expiresAt)
      : body.expiresInDays
        ? new Date(Date.now() + body.expiresInDays * DAY_MS)
        : null;
    return this.keys.create(
      { name: body.name, role: body.role, scope: body.scope ?? null, expiresAt },
      actor,
    );
  }

  @Get()
  @Requires('keys:manage')
  @ApiOperation({
    summary: 'Every API key, newest first (never the secrets)',
    description: 'A scoped credential sees only the keys within its own scope.',
  })
  @ApiResponse({ status: 200, description: 'The keys', schema: openApiSchema(apiKeyListSchema) })
  async list(@CurrentActor() actor: Actor): Promise<{ items: ApiKeyView[] }> {
    return { items: await this.keys.list(actor) };
  }

  @Get(':id')
  @Requires('keys:manage')
  @ApiOperation({ summary: 'One API key (never the secret)' })
  @idParam
  @ApiResponse({ status: 200, description: 'The key', schema: openApiSchema(apiKeySchema) })
  @problem(404, 'API_KEY_NOT_FOUND')
  get(@Param('id', idPipe) id: string, @CurrentActor() actor: Actor): Promise<ApiKeyView> {
    return this.keys.get(id, actor);
  }

  @Post(':id\\:revoke')
  @HttpCode(200)
  @Requires('keys:manage')
  @ApiOperation({
    summary: 'Revoke an API key',
    description:
      'Refused from then on (at once in this process, within 5 s in the others). Revoking again changes ' +
      'nothing. Recorded as the event ApiKeyRevoked.',
  })
  @idParam
  @ApiResponse({ status: 200, description: 'Revoked', schema: openApiSchema(apiKeySchema) })
  @problem(404, 'API_KEY_NOT_FOUND (also a key outside the credential’s scope)')
  revoke(@Param('id', idPipe) id: string, @CurrentActor() actor: Actor): Promise<ApiKeyView> {
    return this.keys.revoke(id, actor);
  }
}
