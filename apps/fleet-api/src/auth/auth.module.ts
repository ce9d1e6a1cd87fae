import { Global, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeyService } from './api-keys.service';
import { AuthGuard, RequestIdMiddleware, RouteDeclarations } from './auth.guard';
import { DeviceScope } from './device-scope';
import { JwtCredentials } from './jwt-credentials';

/**
 * Authentication and authorisation of the operator API: API keys (/api/v1/api-keys, bootstrap admin
 * key), JWT bearer tokens, the global guard, X-Request-Id, and DeviceScope for every controller.
 * Global, so that the API's feature modules can inject DeviceScope.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeyService,
    JwtCredentials,
    DeviceScope,
    RouteDeclarations,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [DeviceScope, ApiKeyService, RouteDeclarations],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
