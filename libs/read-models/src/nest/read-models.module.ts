import { Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { createReadModelDataSource, runReadModelMigrations } from '../framework/data-source';
import { READ_MODEL_ENTITIES, READ_MODEL_MIGRATIONS } from '../registry';

export const READ_MODELS = Symbol('ReadModelsDataSource');

@Injectable()
class ReadModelsLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(READ_MODELS) private readonly ds: DataSource,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.ds.isInitialized) await this.ds.initialize();
    if (this.infra.config.migrateOnStart) await runReadModelMigrations(this.ds, this.pool);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** The read models' TypeORM DataSource (READ_MODELS), migrated at startup; for the projector and the API. */
@Global()
@Module({
  providers: [
    {
      provide: READ_MODELS,
      useFactory: (infra: RuntimeInfrastructure) =>
        createReadModelDataSource({
          url: infra.databaseUrl,
          entities: READ_MODEL_ENTITIES,
          migrations: READ_MODEL_MIGRATIONS,
        }),
      inject: [RUNTIME],
    },
    ReadModelsLifecycle,
  ],
  exports: [READ_MODELS],
})
export class ReadModelsModule {}
