import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { DomainModule } from '@hyperfleet/domain';
import { EVENT_STORE, PlatformModule, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ReadModelsModule } from '@hyperfleet/read-models';
import { DeviceIdentityModule } from '../../device-gateway/src/identity';
import { AuditApiModule } from './audit/audit.controller';
import { AuthModule } from './auth/auth.module';
import { CommandsApiModule } from './commands/commands-api.module';
import { DeviceProvisioningService } from './devices/device-provisioning.service';
import { DeviceLabelsApiModule } from './devices/device-labels.controller';
import { DevicesController } from './devices/devices.controller';
import { FleetQueryService } from './fleet/fleet-query.service';
import { FleetController } from './fleet/fleet.controller';
import { ApiExceptionFilter, BodyParserErrors } from './http/api-exception.filter';
import { IDEMPOTENCY_PROVIDERS } from './http/idempotency.interceptor';
import { OpenApiDocs } from './http/openapi';
import { OtaApiModule } from './ota/ota.controller';
import { PlansApiModule } from './plans/plans-api.module';
import { ProjectionsController } from './projections/projections.controller';
import { ReleasesApiModule } from './releases/releases-api.module';
import { SchedulingApiModule } from './scheduling/scheduling.controller';
import { TelemetryApiModule } from './telemetry/telemetry-api.module';

/**
 * The operator HTTP API: /api/v1/devices (provisioning and MQTT credentials), the OpenAPI document at
 * /docs and /docs-json, and one error shape for every route of the app. Needs PlatformModule (global)
 * and the command side (CqrsModule.forRoot + DomainModule, see DomainAppModules) in the application;
 * the all-in-one and the standalone runner (FleetApiAppModule) both provide them.
 */
@Module({
  imports: [
    AuthModule,
    DeviceIdentityModule,
    ReadModelsModule,
    TelemetryApiModule,
    SchedulingApiModule,
    OtaApiModule,
    DeviceLabelsApiModule,
    AuditApiModule,
    CommandsApiModule,
    PlansApiModule,
    ReleasesApiModule,
  ],
  controllers: [DevicesController, FleetController, ProjectionsController],
  providers: [
    DeviceProvisioningService,
    FleetQueryService,
    OpenApiDocs,
    BodyParserErrors,
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    ...IDEMPOTENCY_PROVIDERS,
  ],
  exports: [DeviceProvisioningService],
})
export class FleetApiModule {}

/** fleet-api on its own: PlatformModule over the given infrastructure, plus FleetApiModule. */
@Module({})
export class FleetApiAppModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return {
      module: FleetApiAppModule,
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        FleetApiModule,
      ],
    };
  }
}
