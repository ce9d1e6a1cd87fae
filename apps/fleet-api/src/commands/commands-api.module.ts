import { Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { DEVICE_COMMANDS_MIGRATION_SET, DeviceCommandStore } from '@hyperfleet/device-commands';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL, RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { DeviceScope } from '../auth/device-scope';
import { DeviceFilterResolver } from '../fleet/device-filter';
import { BulkCommandDispatcher } from './bulk-dispatcher';
import { BulkCommandsController, BulkCommandsService } from './bulk-commands.controller';
import { CommandsController, DeviceCommandsController } from './device-commands.controller';
import { DeviceCommandsService } from './device-commands.service';

@Injectable()
class DeviceCommandsMigrations implements OnModuleInit {
  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async onModuleInit(): Promise<void> {
    // The gateway runs the same set; whichever process starts first creates the tables.
    if (this.infra.config.migrateOnStart) await runMigrations(this.pool, DEVICE_COMMANDS_MIGRATION_SET);
  }
}

/**
 * Device commands over HTTP: RT VM and Service VM actions, their status resources, bulk commands by
 * filter and the dispatcher that decides them. Needs PlatformModule and the command side (CqrsModule +
 * DomainModule) in the application.
 */
@Module({
  controllers: [DeviceCommandsController, CommandsController, BulkCommandsController],
  providers: [
    DeviceCommandsMigrations,
    {
      provide: DeviceCommandStore,
      useFactory: (pool: Pool) => new DeviceCommandStore(pool),
      inject: [PG_POOL],
    },
    DeviceScope,
    DeviceFilterResolver,
    DeviceCommandsService,
    BulkCommandsService,
    BulkCommandDispatcher,
  ],
  exports: [DeviceCommandsService],
})
export class CommandsApiModule {}
