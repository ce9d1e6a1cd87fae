import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DomainModule } from '@hyperfleet/domain';
import { EVENT_STORE, PlatformModule, runApp, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { DeviceGatewayModule } from './device-gateway.module';

/** The device gateway on its own: scale it out with GATEWAY_INSTANCE_ID per instance (MQTT 5 shared subscriptions). */
@Module({})
class DeviceGatewayAppModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return {
      module: DeviceGatewayAppModule,
      imports: [
        PlatformModule.forRoot(infra),
        CqrsModule.forRoot(),
        DomainModule.forRoot({ eventStore: { useExisting: EVENT_STORE } }),
        DeviceGatewayModule.forRoot(),
      ],
    };
  }
}

void runApp({
  title: 'Hyperfleet device gateway',
  module: (infra) => DeviceGatewayAppModule.forRoot(infra),
  needsMqtt: true,
});
