import { Injectable, OnModuleInit, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { withBearerAuth } from '../auth/auth.openapi';
import { withIdempotencyKeyHeader } from './idempotency.openapi';

export const OPENAPI_PATH = 'docs';

export function openApiConfig(): Omit<OpenAPIObject, 'paths'> {
  return new DocumentBuilder()
    .setTitle('Hyperfleet fleet API')
    .setDescription(
      'Operator API of Hyperfleet. Errors are `{ code, message, details? }`. ' +
        'Every route but /health needs `Authorization: Bearer <API key or JWT>` (docs/operator-api.md).',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
}

/**
 * Serves the OpenAPI document at /docs (Swagger UI) and /docs-json from inside the module, so that
 * every app that imports FleetApiModule has it without touching its bootstrap code. @nestjs/swagger
 * wants the INestApplication, which Nest does not inject; what its scanner reads from it (the module
 * container, the HTTP adapter, the global prefix and versioning settings) is all injectable or unused
 * here (no global prefix, no versioning), so a small stand-in is enough. The document is built on the
 * first request, when every module's controllers are known.
 */
@Injectable()
export class OpenApiDocs implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModulesContainer,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return; // an application context without HTTP
    const app = {
      container: { getModules: () => this.modules, isGlobalModule: () => false },
      config: { getGlobalPrefix: () => '', getVersioning: () => undefined },
      getHttpAdapter: () => adapter,
      useStaticAssets: (assets: string, options: unknown) => adapter.useStaticAssets?.(assets, options),
    } as unknown as INestApplication;
    SwaggerModule.setup(
      OPENAPI_PATH,
      app,
      () => withBearerAuth(withIdempotencyKeyHeader(SwaggerModule.createDocument(app, openApiConfig()))),
      // Swagger UI keeps the credential across reloads.
      { swaggerOptions: { persistAuthorization: true } },
    );
  }
}
