/**
 * Test bed for the read models' integration tests: a fresh database with every schema, the domain's
 * command handlers on the real event store, and the PostgreSQL-log transport the runners consume.
 */
import { CqrsModule, CommandBus } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { Pool } from 'pg';
import { DomainModule, type Clock } from '@hyperfleet/domain';
import { PostgresEventStore, PostgresNotifier } from '@hyperfleet/event-store';
import { PostgresLogTransport } from '@hyperfleet/messaging';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { migrateProjectionDatabase } from '../src/registry';

export interface ReadModelBed {
  readonly db: TestDatabase;
  readonly pool: Pool;
  readonly store: PostgresEventStore;
  readonly bus: CommandBus;
  readonly notifier: PostgresNotifier;
  readonly transport: PostgresLogTransport;
  /** Stops what it started, in reverse order; stop your runners first. */
  close(): Promise<void>;
}

export async function startReadModelBed(
  name: string,
  options: { poolSize?: number; clock?: Clock } = {},
): Promise<ReadModelBed> {
  const db = await createTestDatabase(name);
  const pool = new Pool({ connectionString: db.url, max: options.poolSize ?? 10 });
  let notifier: PostgresNotifier | null = null;
  let transport: PostgresLogTransport | null = null;
  let moduleRef: TestingModule | null = null;
  const close = async () => {
    await moduleRef?.close();
    await transport?.close();
    await notifier?.stop();
    await pool.end();
    await db.drop();
  };
  try {
    await migrateProjectionDatabase(pool, db.url);
    const store = new PostgresEventStore(pool);
    notifier = new PostgresNotifier(pool);
    await notifier.start();
    transport = new PostgresLogTransport({ pool, notifier, pollIntervalMs: 50 });
    await transport.start();
    moduleRef = await Test.createTestingModule({
      imports: [
        CqrsModule.forRoot(),
        DomainModule.forRoot({
          eventStore: { useValue: store },
          ...(options.clock ? { clock: options.clock } : {}),
        }),
      ],
    }).compile();
    await moduleRef.init();
    return { db, pool, store, bus: moduleRef.get(CommandBus), notifier, transport, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
