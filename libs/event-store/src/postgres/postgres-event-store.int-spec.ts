import { Client, Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import {
  CheckpointConflictError,
  DuplicateMessageIdError,
  EVENT_STORE_MIGRATIONS,
  InvalidAppendError,
  LOG_START,
  PostgresCheckpointStore,
  PostgresEventStore,
  PostgresLogSubscription,
  PostgresNotifier,
  WrongExpectedVersionError,
  compareLogPositions,
  runMigrations,
  type LogPosition,
  type RecordedEvent,
} from '../index';

const migrationSet = { name: 'event-store', migrations: EVENT_STORE_MIGRATIONS };
const ev = (type: string, data: Record<string, string | number> = {}, messageId?: string) => ({
  type,
  data,
  messageId,
});

describe('PostgresEventStore (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('hf_es');
    pool = new Pool({ connectionString: db.url, max: 12 });
    await runMigrations(pool, migrationSet);
    store = new PostgresEventStore(pool);
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  describe('migrations', () => {
    it('are safe to run again, and concurrently', async () => {
      const reports = await Promise.all([
        runMigrations(pool, migrationSet),
        runMigrations(pool, migrationSet),
      ]);
      expect(reports.map((r) => r.applied.length)).toEqual([0, 0]);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM hf.schema_migrations`);
      expect(rows[0].n).toBe(EVENT_STORE_MIGRATIONS.length);
    });
  });

  describe('append', () => {
    it('creates a stream with no-stream and numbers events from 1', async () => {
      const r = await store.append('hypervisor-dev1', 'no-stream', [
        ev('DeviceProvisioned'),
        ev('BoardReported'),
      ]);
      expect(r.nextExpectedVersion).toBe(2n);
      expect(r.positions.map((p) => p.streamPosition)).toEqual([1n, 2n]);
      expect(r.positions[1].globalPosition).toBeGreaterThan(r.positions[0].globalPosition);
      expect(r.duplicate).toBe(false);
      expect(await store.streamVersion('hypervisor-dev1')).toBe(2n);
    });

    it('fails with WrongExpectedVersion on a stale version, and on no-stream for an existing stream', async () => {
      await store.append('rt-vm-dev2-rt1', 'no-stream', [ev('RtVmRegistered')]);
      await store.append('rt-vm-dev2-rt1', 1, [ev('RtVmStarted')]);
      const stale = store.append('rt-vm-dev2-rt1', 1, [ev('RtVmStopped')]);
      await expect(stale).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(stale).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        actual: 2n,
        streamId: 'rt-vm-dev2-rt1',
      });
      await expect(store.append('rt-vm-dev2-rt1', 'no-stream', [ev('RtVmRegistered')])).rejects.toMatchObject(
        {
          actual: 2n,
        },
      );
      await expect(store.append('rt-vm-absent', 3, [ev('X')])).rejects.toMatchObject({ actual: null });
      // nothing of the failed appends was written
      expect((await store.readStream('rt-vm-dev2-rt1')).map((e) => e.type)).toEqual([
        'RtVmRegistered',
        'RtVmStarted',
      ]);
    });

    it('lets exactly one of two writers with the same expected version win', async () => {
      await store.append('service-vm-race', 'no-stream', [ev('ServiceVmRegistered')]);
      const results = await Promise.allSettled([
        store.append('service-vm-race', 1, [ev('A')]),
        store.append('service-vm-race', 1, [ev('B')]),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(WrongExpectedVersionError);
      expect(await store.streamVersion('service-vm-race')).toBe(2n);
    });

    it("appends with 'any' regardless of version", async () => {
      await store.append('rollout-any', 'any', [ev('A')]);
      const r = await store.append('rollout-any', 'any', [ev('B')]);
      expect(r.nextExpectedVersion).toBe(2n);
    });

    it('is idempotent by message id: the same batch again returns the original positions', async () => {
      const batch = [ev('VmStarted', { vm: 'rt1' }, 'msg-1'), ev('VmStopped', { vm: 'rt1' }, 'msg-2')];
      const first = await store.append('hypervisor-idem', 'no-stream', batch);
      const again = await store.append('hypervisor-idem', 'no-stream', batch);
      expect(again.duplicate).toBe(true);
      expect(again.positions).toEqual(first.positions);
      expect(again.nextExpectedVersion).toBe(first.nextExpectedVersion);
      // a retry with the version it originally expected, now stale, is still a no-op
      await store.append('hypervisor-idem', 2, [ev('Later', {}, 'msg-3')]);
      const retry = await store.append('hypervisor-idem', 'no-stream', batch);
      expect(retry.positions).toEqual(first.positions);
      expect((await store.readStream('hypervisor-idem')).map((e) => e.messageId)).toEqual([
        'msg-1',
        'msg-2',
        'msg-3',
      ]);
    });

    it('rejects a batch that only partly repeats earlier message ids, writing nothing', async () => {
      await store.append('hypervisor-partial', 'no-stream', [ev('A', {}, 'p-1')]);
      await expect(
        store.append('hypervisor-partial', 1, [ev('A', {}, 'p-1'), ev('B', {}, 'p-2')]),
      ).rejects.toBeInstanceOf(DuplicateMessageIdError);
      await expect(store.append('other-stream', 'any', [ev('A', {}, 'p-1')])).rejects.toMatchObject({
        code: 'DUPLICATE_MESSAGE_ID',
        messageIds: ['p-1'],
      });
      expect(await store.streamVersion('hypervisor-partial')).toBe(1n);
      expect(await store.streamVersion('other-stream')).toBeNull();
    });

    it('stays idempotent when the same message races itself', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          store.append('hypervisor-dup-race', 'any', [ev('Birth', {}, 'race-1')]),
        ),
      );
      expect(new Set(results.map((r) => r.positions[0].globalPosition)).size).toBe(1);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(await store.readStream('hypervisor-dup-race')).toHaveLength(1);
    });

    it('appends that arrive together go in one statement and one transaction, each with its own answer', async () => {
      await store.append('group-existing', 'no-stream', [ev('A', {}, 'g-0')]);
      const [fresh, stale, duplicate, same, any, other] = await Promise.allSettled([
        store.append('group-new', 'no-stream', [ev('A', {}, 'g-1'), ev('B', {}, 'g-2')]),
        store.append('group-existing', 5, [ev('C', {}, 'g-3')]),
        store.append('group-existing', 1, [ev('A', {}, 'g-0'), ev('D', {}, 'g-4')]),
        store.append('group-new', 'no-stream', [ev('E', {}, 'g-5')]),
        store.append('group-new', 'any', [ev('F', {}, 'g-6')]),
        store.append('group-other', 'any', [ev('G', {}, 'g-7')]),
      ]);
      const value = <T>(r: PromiseSettledResult<T>) => (r as PromiseFulfilledResult<T>).value;
      const reason = (r: PromiseSettledResult<unknown>) => (r as PromiseRejectedResult).reason as unknown;
      expect(value(fresh).positions.map((p) => p.streamPosition)).toEqual([1n, 2n]);
      expect(reason(stale)).toBeInstanceOf(WrongExpectedVersionError);
      expect(reason(duplicate)).toBeInstanceOf(DuplicateMessageIdError);
      expect(reason(same)).toBeInstanceOf(WrongExpectedVersionError); // the first in the group won
      expect(value(any).positions[0].streamPosition).toBe(3n);
      // one transaction for everything that was written
      const txs = new Set([fresh, any, other].map((r) => value(r).logPosition.transactionId));
      expect(txs.size).toBe(1);
      expect((await store.readStream('group-new')).map((e) => e.messageId)).toEqual(['g-1', 'g-2', 'g-6']);
      expect((await store.readStream('group-existing')).map((e) => e.messageId)).toEqual(['g-0']);
    });

    it('without grouping, each append is its own statement', async () => {
      const alone = new PostgresEventStore(pool, { groupAppends: false });
      const results = await Promise.all([
        alone.append('alone-1', 'no-stream', [ev('A')]),
        alone.append('alone-2', 'no-stream', [ev('A')]),
      ]);
      expect(results[0].logPosition.transactionId).not.toBe(results[1].logPosition.transactionId);
    });

    it('refuses malformed appends with InvalidAppendError', async () => {
      await expect(store.append('bad stream id', 'any', [ev('A')])).rejects.toBeInstanceOf(
        InvalidAppendError,
      );
      await expect(store.append('s-empty', 'any', [])).rejects.toBeInstanceOf(InvalidAppendError);
      await expect(store.append('s-neg', -3, [ev('A')])).rejects.toBeInstanceOf(InvalidAppendError);
      await expect(
        store.append('s-twice', 'any', [ev('A', {}, 'x'), ev('B', {}, 'x')]),
      ).rejects.toBeInstanceOf(InvalidAppendError);
      await expect(
        store.append('s-arr', 'any', [{ type: 'A', data: [] as unknown as Record<string, never> }]),
      ).rejects.toBeInstanceOf(InvalidAppendError);
    });

    it('keeps metadata, causation and correlation ids and the schema version', async () => {
      await store.append('release-meta', 'no-stream', [
        {
          type: 'ReleaseCreated',
          data: { version: '3.2.0' },
          metadata: { actor: 'ci' },
          causationId: 'cmd-1',
          correlationId: 'corr-1',
          schemaVersion: 2,
        },
      ]);
      const [e] = await store.readStream('release-meta');
      expect(e).toMatchObject({
        type: 'ReleaseCreated',
        data: { version: '3.2.0' },
        metadata: { actor: 'ci' },
        causationId: 'cmd-1',
        correlationId: 'corr-1',
        schemaVersion: 2,
      });
      expect(e.recordedAt).toBeInstanceOf(Date);
    });
  });

  describe('readStream', () => {
    beforeAll(async () => {
      await store.append(
        'partition-plan-read',
        'no-stream',
        Array.from({ length: 10 }, (_, i) => ev(`E${i + 1}`)),
      );
    });

    it('reads forward from a version', async () => {
      const events = await store.readStream('partition-plan-read', { fromVersion: 4, maxCount: 3 });
      expect(events.map((e) => e.streamPosition)).toEqual([4n, 5n, 6n]);
    });

    it('reads backward from the end or from a version', async () => {
      expect(
        (await store.readStream('partition-plan-read', { direction: 'backward', maxCount: 2 })).map(
          (e) => e.type,
        ),
      ).toEqual(['E10', 'E9']);
      const back = await store.readStream('partition-plan-read', { direction: 'backward', fromVersion: 3 });
      expect(back.map((e) => e.streamPosition)).toEqual([3n, 2n, 1n]);
    });

    it('returns nothing for an unknown stream', async () => {
      expect(await store.readStream('nope')).toEqual([]);
    });
  });

  describe('snapshots', () => {
    it('saves and loads the latest, and never replaces a newer one with an older one', async () => {
      await store.saveSnapshot({
        streamId: 'hypervisor-snap',
        version: 10n,
        type: 'Hypervisor',
        schemaVersion: 1,
        state: { n: 10 },
      });
      await store.saveSnapshot({
        streamId: 'hypervisor-snap',
        version: 5n,
        type: 'Hypervisor',
        schemaVersion: 1,
        state: { n: 5 },
      });
      const s = await store.loadSnapshot('hypervisor-snap');
      expect(s).toMatchObject({ version: 10n, state: { n: 10 }, type: 'Hypervisor' });
      await store.saveSnapshot({
        streamId: 'hypervisor-snap',
        version: 12n,
        type: 'Hypervisor',
        schemaVersion: 1,
        state: { n: 12 },
      });
      expect((await store.loadSnapshot('hypervisor-snap'))?.version).toBe(12n);
      expect(await store.loadSnapshot('hypervisor-none')).toBeNull();
    });
  });

  describe('checkpoints', () => {
    it('compare-and-set: a stale expected checkpoint is refused', async () => {
      const cps = new PostgresCheckpointStore(pool);
      const a: LogPosition = { transactionId: 5n, globalPosition: 7n };
      const b: LogPosition = { transactionId: 6n, globalPosition: 9n };
      await cps.store('cas', null, a);
      await expect(cps.store('cas', null, b)).rejects.toBeInstanceOf(CheckpointConflictError);
      await cps.store('cas', a, b);
      await expect(cps.store('cas', a, b)).rejects.toMatchObject({ code: 'CHECKPOINT_CONFLICT' });
      expect(await cps.load('cas')).toEqual(b);
    });
  });
});

describe('the global log under concurrency (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('hf_log');
    pool = new Pool({ connectionString: db.url, max: 16 });
    await runMigrations(pool, migrationSet);
    store = new PostgresEventStore(pool);
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const readEverything = async (after: LogPosition = LOG_START): Promise<RecordedEvent[]> => {
    const all: RecordedEvent[] = [];
    let pos = after;
    for (;;) {
      const b = await store.readAll({ after: pos, batchSize: 777 });
      all.push(...b.events);
      pos = b.position;
      if (!b.maybeMore) return all;
    }
  };

  it('orders the log by transaction id as a number, not as text (99 before 100)', async () => {
    const iso = await createTestDatabase('hf_order');
    const p = new Pool({ connectionString: iso.url, max: 2 });
    try {
      await runMigrations(p, migrationSet);
      // Transaction ids that finished long ago on any cluster; as text, "100" sorts before "99".
      await p.query(`INSERT INTO hf.events (transaction_id, stream_id, stream_position, event_type, data, message_id)
                     VALUES ('100'::xid8, 'order-b', 1, 'B', '{}', 'order-b'), ('99'::xid8, 'order-a', 1, 'A', '{}', 'order-a')`);
      const s = new PostgresEventStore(p);
      const batch = await s.readAll({ batchSize: 10 });
      expect(batch.events.map((e) => [e.transactionId, e.messageId])).toEqual([
        [99n, 'order-a'],
        [100n, 'order-b'],
      ]);
      expect(await s.headPosition()).toEqual({
        transactionId: 100n,
        globalPosition: batch.events[1].globalPosition,
      });
      const [first] = (await s.readAll({ batchSize: 1 })).events;
      expect((await s.readAll({ after: first, batchSize: 5 })).events.map((e) => e.messageId)).toEqual([
        'order-b',
      ]);
    } finally {
      await p.end();
      await iso.drop();
    }
  });

  it('does not skip an event whose transaction commits after a later one (the reader a naive log would fool)', async () => {
    const start = (await readEverything()).at(-1);
    const from = start
      ? { transactionId: start.transactionId, globalPosition: start.globalPosition }
      : LOG_START;
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `SELECT * FROM hf.append_events('slow-1', -2, '[{"type":"Slow","data":{},"messageId":"slow-1"}]', true)`,
      );
      await store.append('fast-1', 'any', [ev('Fast', {}, 'fast-1')]);

      // A reader by bare global position now sees Fast at a higher position than Slow, and moves past Slow.
      const naive = await pool.query(
        `SELECT message_id, global_position FROM hf.events WHERE global_position > $1 ORDER BY global_position`,
        [from.globalPosition.toString()],
      );
      expect(naive.rows.map((r) => r.message_id)).toEqual(['fast-1']);

      // The store's reader holds back while the older transaction is open.
      expect((await store.readAll({ after: from })).events).toEqual([]);
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    const after = await store.readAll({ after: from });
    expect(after.events.map((e) => e.messageId)).toEqual(['slow-1', 'fast-1']);
  });

  it('8 concurrent writers × 1,000 appends: a live reader and a final read-all see every event exactly once, in one order', async () => {
    const writers = 8;
    const perWriter = 1000;
    const base = (await readEverything()).length;
    const startPos = await store.headPosition();

    // A live reader polls while the writers run; it must end up with exactly what the final read sees.
    const live: RecordedEvent[] = [];
    let livePos = startPos;
    let writing = true;
    const reader = (async () => {
      while (writing || (await store.readAll({ after: livePos, batchSize: 1 })).events.length > 0) {
        const b = await store.readAll({ after: livePos, batchSize: 300 });
        live.push(...b.events);
        livePos = b.position;
        if (!b.events.length) await new Promise((r) => setTimeout(r, 5));
      }
    })();

    // Some appends hold their transaction open a little so commits land out of position order.
    const slowClient = async (w: number, i: number) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(`SELECT * FROM hf.append_events($1, -2, $2, false)`, [
          `hypervisor-w${w}`,
          JSON.stringify([{ type: 'Appended', data: { w, i }, messageId: `w${w}-${i}` }]),
        ]);
        await c.query('SELECT pg_sleep(0.003)');
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    };
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          if (i % 50 === 7) await slowClient(w, i);
          else await store.append(`hypervisor-w${w}`, 'any', [ev('Appended', { w, i }, `w${w}-${i}`)]);
        }
      }),
    );
    writing = false;
    await reader;

    const all = await readEverything();
    const fresh = all.slice(base);
    expect(fresh).toHaveLength(writers * perWriter);
    expect(new Set(fresh.map((e) => e.messageId)).size).toBe(writers * perWriter);
    for (let i = 1; i < all.length; i++) {
      expect(compareLogPositions(all[i - 1], all[i])).toBeLessThan(0);
    }
    // one consistent order: the live reader saw the same sequence the final read returns
    expect(live.map((e) => e.messageId)).toEqual(fresh.map((e) => e.messageId));
    // each writer's stream stays in its own order within the global log
    for (let w = 0; w < writers; w++) {
      const mine = fresh
        .filter((e) => e.streamId === `hypervisor-w${w}`)
        .map((e) => Number(e.streamPosition));
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => i + 1));
    }
  });

  it('a subscription catches up, follows live appends, and resumes from its checkpoint after a restart', async () => {
    const checkpoints = new PostgresCheckpointStore(pool);
    const notifier = new PostgresNotifier(pool);
    await notifier.start();
    const seen: string[] = [];
    const make = () =>
      new PostgresLogSubscription({
        id: 'test-resume',
        pool,
        checkpoints,
        notifier,
        batchSize: 50,
        pollIntervalMs: 60_000, // only NOTIFY can wake it within the test's time
        startFrom: undefined,
        handle: async (events) => {
          for (const e of events) if (e.streamId.startsWith('sub-')) seen.push(e.messageId);
        },
      });
    const sub1 = make();
    await store.append('sub-a', 'no-stream', [ev('A1', {}, 'sub-1'), ev('A2', {}, 'sub-2')]);
    await sub1.start();
    await sub1.waitUntilCaughtUp();
    expect(seen).toEqual(['sub-1', 'sub-2']);

    // live: woken by NOTIFY, not by the (one-minute) poll
    const t0 = Date.now();
    await store.append('sub-a', 2, [ev('A3', {}, 'sub-3')]);
    while (!seen.includes('sub-3') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toContain('sub-3');
    expect(Date.now() - t0).toBeLessThan(10_000);
    await sub1.stop();

    // while it is down
    await store.append('sub-b', 'no-stream', [ev('B1', {}, 'sub-4')]);
    const sub2 = make();
    await sub2.start();
    await sub2.waitUntilCaughtUp();
    await sub2.stop();
    await notifier.stop();
    expect(seen).toEqual(['sub-1', 'sub-2', 'sub-3', 'sub-4']);
    expect(await checkpoints.load('test-resume')).toEqual(sub2.currentPosition);
  });

  it('retries a batch whose handler failed, without skipping it', async () => {
    const checkpoints = new PostgresCheckpointStore(pool);
    let failures = 0;
    const got: string[] = [];
    await store.append('sub-retry', 'no-stream', [ev('R', {}, 'retry-1')]);
    const sub = new PostgresLogSubscription({
      id: 'test-retry',
      pool,
      checkpoints,
      pollIntervalMs: 50,
      handle: async (events) => {
        if (events.some((e) => e.messageId === 'retry-1') && failures < 2) {
          failures++;
          throw new Error('projection hiccup');
        }
        for (const e of events) if (e.streamId === 'sub-retry') got.push(e.messageId);
      },
      onError: () => undefined,
    });
    await sub.start();
    await sub.waitUntilCaughtUp();
    await sub.stop();
    expect(failures).toBe(2);
    expect(got).toEqual(['retry-1']);
  });
});
