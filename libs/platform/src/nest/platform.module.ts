import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import type { Pool } from 'pg';
import {
  EVENT_STORE_MIGRATIONS,
  PostgresCheckpointStore,
  PostgresEventStore,
  PostgresNotifier,
  runMigrations,
} from '@hyperfleet/event-store';
import { checkDatabase, createPool } from '../database/database';
import { HealthController } from '../health/health.controller';
import { HealthService } from '../health/health.service';
import type { RuntimeInfrastructure } from '../infrastructure';
import { EVENT_STORE, PG_POOL, RUNTIME } from './tokens';

@Injectable()
class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifier: PostgresNotifier,
  ) {}

  async onModuleInit(): Promise<void> {
    await checkDatabase(this.pool, this.infra.databaseUrl);
    if (this.infra.config.migrateOnStart) {
      await runMigrations(this.pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    }
    await this.notifier.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.notifier.stop();
    await this.pool.end();
  }
}

/** Database, event store and health for every Hyperfleet app, over the infrastructure already started. */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(infra: RuntimeInfrastructure): DynamicModule {
    return {
      module: PlatformModule,
      controllers: [HealthController],
      providers: [
        { provide: RUNTIME, useValue: infra },
        { provide: PG_POOL, useFactory: () => createPool(infra.databaseUrl, infra.config.dbPoolSize) },
        {
          provide: PostgresNotifier,
          useFactory: (pool: Pool) => new PostgresNotifier(pool),
          inject: [PG_POOL],
        },
        { provide: EVENT_STORE, useFactory: (pool: Pool) => new PostgresEventStore(pool), inject: [PG_POOL] },
        {
          provide: PostgresCheckpointStore,
          useFactory: (pool: Pool) => new PostgresCheckpointStore(pool),
          inject: [PG_POOL],
        },
        DatabaseLifecycle,
        HealthService,
      ],
      exports: [RUNTIME, PG_POOL, EVENT_STORE, PostgresNotifier, PostgresCheckpointStore, HealthService],
    };
  }
}
