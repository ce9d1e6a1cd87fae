import { Pool } from 'pg';
import {
  EVENT_STORE_MIGRATIONS,
  PostgresEventStore,
  PostgresNotifier,
  runMigrations,
} from '@hyperfleet/event-store';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { writeTelemetryLog } from '../telemetry-spool/telemetry-log';
import { ProduceFaults } from '../transport/produce-faults';
import { transportContract, type ContractFixture } from '../transport/transport.contract';
import { MESSAGING_MIGRATION_SET } from './migrations';
import { PostgresLogTransport } from './postgres-log-transport';

describe('PostgresLogTransport (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let notifier: PostgresNotifier;
  let fx: ContractFixture;

  beforeAll(async () => {
    db = await createTestDatabase('hf_pglog');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await runMigrations(pool, MESSAGING_MIGRATION_SET);
    notifier = new PostgresNotifier(pool);
    await notifier.start();
    const transport = new PostgresLogTransport({ pool, notifier, pollIntervalMs: 50 });
    await transport.start();
    const faults = new ProduceFaults();
    fx = {
      transport,
      store: new PostgresEventStore(pool),
      flushDeviceEvents: async () => undefined,
      // The gateway's write: a failed transaction is retried whole (the device redelivers).
      writeTelemetry: async (records) => {
        for (;;) {
          const c = await pool.connect();
          try {
            await c.query('BEGIN');
            faults.check(records);
            await writeTelemetryLog(c, records);
            await c.query('COMMIT');
            return;
          } catch (err) {
            await c.query('ROLLBACK');
            if (!/injected produce failure/.test((err as Error).message)) throw err;
          } finally {
            c.release();
          }
        }
      },
      flushTelemetry: async () => undefined,
      faults,
    };
  });

  afterAll(async () => {
    await fx.transport.close();
    await notifier.stop();
    await pool.end();
    await db.drop();
  });

  transportContract('postgres-log', () => fx);

  it('refuses to publish device events: they enter only through the event store', async () => {
    await expect(fx.transport.publish('device-events', [])).rejects.toThrow(/append them to their stream/);
  });

  it('prunes telemetry older than the retention', async () => {
    await pool.query(`UPDATE hf.telemetry_log SET recorded_at = now() - interval '3 days'`);
    const pruned = await (fx.transport as PostgresLogTransport).pruneTelemetry(24 * 3600_000);
    expect(pruned).toBeGreaterThan(0);
    expect((await pool.query('SELECT count(*)::int AS n FROM hf.telemetry_log')).rows[0].n).toBe(0);
  });
});
