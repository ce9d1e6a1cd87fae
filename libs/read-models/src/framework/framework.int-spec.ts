import { Pool } from 'pg';
import {
  EVENT_STORE_MIGRATIONS,
  PostgresEventStore,
  PostgresNotifier,
  runMigrations,
} from '@hyperfleet/event-store';
import { MESSAGING_MIGRATION_SET, PostgresLogTransport, type Delivery } from '@hyperfleet/messaging';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { READ_MODEL_ENTITIES, READ_MODEL_MIGRATIONS } from '../registry';
import { deviceTimelineProjection } from '../timeline/timeline.projection';
import { createReadModelDataSource, runReadModelMigrations } from './data-source';
import { DeadLetters } from './dead-letters';
import type { Projection } from './projection';
import { rebuildProjection } from './rebuild';
import { ProjectionRunner } from './runner';

describe('projection framework (real PostgreSQL, PostgreSQL-log transport)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;
  let notifier: PostgresNotifier;
  let transport: PostgresLogTransport;
  let deadLetters: DeadLetters;
  const ds = () =>
    createReadModelDataSource({
      url: db.url,
      entities: READ_MODEL_ENTITIES,
      migrations: READ_MODEL_MIGRATIONS,
    });

  const device = (id: string, n: number) =>
    store.append(
      `hypervisor-${id}`,
      'any',
      Array.from({ length: n }, (_, i) => ({
        type: i === 0 ? 'DeviceWentOnline' : 'RtVmLatencyReported',
        data: { deviceId: id, n: i, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() },
        metadata: { deviceId: id },
      })),
    );

  const timeline = async (table = 'device_timeline') =>
    (
      await pool.query<{ stream_id: string; stream_position: string; event_type: string }>(
        `SELECT stream_id, stream_position, event_type FROM rm."${table}" ORDER BY stream_id, stream_position`,
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('hf_rm');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await runMigrations(pool, { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS });
    await runMigrations(pool, MESSAGING_MIGRATION_SET);
    const source = ds();
    await source.initialize();
    expect(await runReadModelMigrations(source, pool)).toHaveLength(READ_MODEL_MIGRATIONS.length);
    expect(await runReadModelMigrations(source, pool)).toEqual([]); // safe to run twice
    await source.destroy();
    store = new PostgresEventStore(pool);
    notifier = new PostgresNotifier(pool);
    await notifier.start();
    transport = new PostgresLogTransport({ pool, notifier, pollIntervalMs: 50 });
    await transport.start();
    deadLetters = new DeadLetters(pool, transport);
  });

  afterAll(async () => {
    await transport.close();
    await notifier.stop();
    await pool.end();
    await db.drop();
  });

  it('applies each event once, even when the transport delivers a batch again', async () => {
    const runner = new ProjectionRunner(deviceTimelineProjection, { pool, transport, deadLetters });
    await device('veh-1', 3);
    const batch: Delivery[] = [];
    const sub = await transport.subscribe({
      group: 'capture',
      channel: 'device-events',
      handle: async (b) => void batch.push(...b),
    });
    await sub.waitUntilCaughtUp();
    await sub.stop();
    await runner.handle(batch);
    await runner.handle(batch); // a redelivery after a crash
    expect((await timeline()).filter((r) => r.stream_id === 'hypervisor-veh-1')).toHaveLength(3);
  });

  it('parks a poison event after its attempts, goes on with the rest, and retries it on demand', async () => {
    let broken = true;
    const fragile: Projection = {
      name: 'fragile',
      tables: [],
      handles: ['DeviceWentOnline', 'RtVmLatencyReported'],
      async apply(events, sql) {
        for (const e of events) {
          if (broken && e.key === 'poison-1' && e.data.n === 1)
            throw new Error('cannot read field "n" of event 1');
          await sql.query(`SELECT 1`);
        }
      },
    };
    const runner = new ProjectionRunner(fragile, { pool, transport, deadLetters, maxAttempts: 2 });
    await runner.start();
    await device('poison-1', 3);
    await runner.waitUntilCaughtUp();
    await runner.stop();
    const parked = await deadLetters.list('fragile');
    expect(parked.map((p) => [p.event.streamId, p.event.streamPosition])).toEqual([
      ['hypervisor-poison-1', 2],
    ]);
    expect(parked[0].error).toMatch(/cannot read field/);
    const status = await pool.query(
      `SELECT events_applied FROM rm.projection_status WHERE projection = 'fragile'`,
    );
    expect(Number(status.rows[0].events_applied)).toBeGreaterThanOrEqual(2); // the events around it went through
    expect(await deadLetters.counts()).toMatchObject({ fragile: 1 });

    broken = false;
    expect(await deadLetters.retry(fragile)).toEqual({ retried: 1, succeeded: 1, failed: 0 });
    expect(await deadLetters.list('fragile')).toEqual([]);
  });

  it('a rebuild from position 0 into shadow tables equals the live projection, and swaps in while events keep coming', async () => {
    const runner = new ProjectionRunner(deviceTimelineProjection, { pool, transport, deadLetters });
    await runner.start();
    for (let i = 0; i < 20; i++) await device(`fleet-${i}`, 5);
    await runner.waitUntilCaughtUp();
    const before = await timeline();

    const progress: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await device(`late-${i}`, 2);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const result = await rebuildProjection(pool, deviceTimelineProjection, {
      batchSize: 37,
      onProgress: (p) => progress.push(p.read),
    });
    writing = false;
    await writer;
    await runner.waitUntilCaughtUp();
    await runner.stop();

    expect(result.applied).toBeGreaterThanOrEqual(before.length);
    expect(progress.length).toBeGreaterThan(2);
    // the shadow table is gone and the live one holds every event exactly once
    const exists = await pool.query(`SELECT to_regclass('rm.device_timeline__rebuild') AS t`);
    expect(exists.rows[0].t).toBeNull();
    const after = await timeline();
    const { rows: expected } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM hf.events WHERE data ? 'deviceId'`,
    );
    expect(after).toHaveLength(Number(expected[0].n));
    expect(new Set(after.map((r) => `${r.stream_id}@${r.stream_position}`)).size).toBe(after.length);
    expect(
      after.filter((r) =>
        before.some((b) => b.stream_id === r.stream_id && b.stream_position === r.stream_position),
      ),
    ).toHaveLength(before.length);
  });

  it('a rebuild keeps the secondary indexes (built after the fill) and refuses a second rebuild of the same projection', async () => {
    const indexes = async () =>
      (
        await pool.query<{ def: string }>(
          `SELECT regexp_replace(pg_get_indexdef(indexrelid), 'INDEX \\S+ ON', 'INDEX ON') AS def
             FROM pg_index WHERE indrelid = 'rm.device_timeline'::regclass ORDER BY 1`,
        )
      ).rows.map((r) => r.def);
    const before = await indexes();
    expect(before.some((d) => d.includes('(device_id, occurred_at)'))).toBe(true);

    let second: Promise<unknown> | null = null;
    await rebuildProjection(pool, deviceTimelineProjection, {
      batchSize: 50,
      onProgress: () => {
        second ??= rebuildProjection(pool, deviceTimelineProjection).catch((e: unknown) => e);
      },
    });
    expect(await second).toMatchObject({ code: 'REBUILD_ALREADY_RUNNING', projection: 'device-timeline' });
    expect(await indexes()).toEqual(before);
    // and once it is done, the next rebuild may run
    await expect(rebuildProjection(pool, deviceTimelineProjection)).resolves.toMatchObject({
      applied: expect.any(Number),
    });
  });
});
