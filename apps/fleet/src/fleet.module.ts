import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type RuntimeInfrastructure } from '@hyperfleet/platform';

/** Every Hyperfleet service in one process, for a laptop or a small site. */
@Module({})
export class FleetModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return { module: FleetModule, imports: [PlatformModule.forRoot(infra)] };
  }
}
