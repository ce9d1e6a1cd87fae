import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DeviceGatewayModule } from '@hyperfleet/device-gateway';
import { DomainModule } from '@hyperfleet/domain';
import { FleetApiModule } from '@hyperfleet/fleet-api';
import { ProjectorModule } from '@hyperfleet/projector';
import { EVENT_STORE, PlatformModule, type RuntimeInfrastructure } from '@hyperfleet/platform';

/** Every Hyperfleet service in one process, for a laptop or a small site. */
@Module({})
export class FleetModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return {
      module: FleetModule,
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        DeviceGatewayModule.forRoot(),
        ProjectorModule,
        FleetApiModule,
      ],
    };
  }
}
