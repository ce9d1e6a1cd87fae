import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ReadModelsModule } from '@hyperfleet/read-models';
import { ProjectorService } from './projector.service';

/** Projections into the read models. Needs PlatformModule (database, event transport). */
@Module({
  imports: [ReadModelsModule],
  providers: [ProjectorService],
  exports: [ProjectorService],
})
export class ProjectorModule {}

/** The projector on its own. */
@Module({})
export class ProjectorAppModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return { module: ProjectorAppModule, imports: [PlatformModule.forRoot(infra), ProjectorModule] };
  }
}
