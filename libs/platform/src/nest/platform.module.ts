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
import {
  KafkaTransport,
  MESSAGING_MIGRATION_SET,
  OutboxRelay,
  PostgresLogTransport,
  TelemetryRelay,
  type EventTransport,
} from '@hyperfleet/messaging';
import { checkDatabase, createPool } from '../database/database';
import { HealthController } from '../health/health.controller';
import { HealthService } from '../health/health.service';
import type { RuntimeInfrastructure } from '../infrastructure';
import { EVENT_STORE, EVENT_TRANSPORT, OUTBOX_RELAY, PG_POOL, RUNTIME, TELEMETRY_RELAY } from './tokens';

@Injectable()
class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly infra: RuntimeInfrastructure,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifier: PostgresNotifier,
    @Inject(EVENT_TRANSPORT) private readonly transport: EventTransport,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay | null,
    @Inject(TELEMETRY_RELAY) private readonly telemetryRelay: TelemetryRelay | null,
  ) {}

  async onModuleInit(): Promise<void> {
    await checkDatabase(this.pool, this.infra.databaseUrl);
    if (this.infra.config.migrateOnStart) {
      await runMigrations(this.pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
      await runMigrations(this.pool, MESSAGING_MIGRATION_SET);
    }
    await this.notifier.start();
    await this.transport.start();
    await this.relay?.start();
    await this.telemetryRelay?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.telemetryRelay?.stop();
    await this.transport.close();
    await this.notifier.stop();
    await this.pool.end();
  }
}

function createTransport(
  infra: RuntimeInfrastructure,
  pool: Pool,
  notifier: PostgresNotifier,
): EventTransport {
  return infra.kafkaBrokers
    ? new KafkaTransport({ brokers: infra.kafkaBrokers, topicPrefix: infra.config.kafkaTopicPrefix })
    : new PostgresLogTransport({ pool, notifier });
}

/** TELEMETRY_SPOOL_MAX_ROWS: the telemetry spool's bound on Kafka (docs/kafka.md, "Kafka outages"). */
function telemetrySpoolMaxRows(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.TELEMETRY_SPOOL_MAX_ROWS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1000)
    throw new Error(`TELEMETRY_SPOOL_MAX_ROWS: must be an integer >= 1000 (got ${JSON.stringify(raw)})`);
  return n;
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
        {
          provide: EVENT_TRANSPORT,
          useFactory: (pool: Pool, notifier: PostgresNotifier) => createTransport(infra, pool, notifier),
          inject: [PG_POOL, PostgresNotifier],
        },
        {
          // With Kafka, the event log reaches the device-events topic through the outbox relay.
          provide: OUTBOX_RELAY,
          useFactory: (pool: Pool, notifier: PostgresNotifier, transport: EventTransport) =>
            transport.kind === 'kafka' ? new OutboxRelay({ pool, transport, notifier }) : null,
          inject: [PG_POOL, PostgresNotifier, EVENT_TRANSPORT],
        },
        {
          // With Kafka, telemetry committed to hf.telemetry_log (the spool) reaches its topic here.
          provide: TELEMETRY_RELAY,
          useFactory: (pool: Pool, transport: EventTransport) =>
            transport.kind === 'kafka'
              ? new TelemetryRelay({ pool, transport, maxSpoolRows: telemetrySpoolMaxRows() })
              : null,
          inject: [PG_POOL, EVENT_TRANSPORT],
        },
        DatabaseLifecycle,
        HealthService,
      ],
      exports: [
        RUNTIME,
        PG_POOL,
        EVENT_STORE,
        EVENT_TRANSPORT,
        OUTBOX_RELAY,
        TELEMETRY_RELAY,
        PostgresNotifier,
        PostgresCheckpointStore,
        HealthService,
      ],
    };
  }
}
