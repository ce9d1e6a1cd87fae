import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { runMigrations } from '@hyperfleet/event-store';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '@hyperfleet/contracts';
import { DeviceCommandStore, DeviceCommandStoreError, type NewDeviceCommand } from './command-store';
import { DEVICE_COMMANDS_MIGRATION_SET } from './migrations';

describe('DeviceCommandStore (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: DeviceCommandStore;
  const hour = 3600_000;
  const t0 = new Date('2026-01-01T00:00:00Z');
  const later = (ms: number) => new Date(t0.getTime() + ms);

  beforeAll(async () => {
    db = await createTestDatabase('hf_device_commands');
    pool = new Pool({ connectionString: db.url, max: 6 });
    await runMigrations(pool, DEVICE_COMMANDS_MIGRATION_SET);
    store = new DeviceCommandStore(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const cmd = (over: Partial<NewDeviceCommand> = {}): NewDeviceCommand => ({
    commandId: randomUUID(),
    deviceId: 'dev-1',
    name: 'start-vm',
    args: { vmName: 'rtvm1' },
    deliverBy: later(hour),
    createdAt: t0,
    ...over,
  });

  it('migrates once; a second run applies nothing', async () => {
    expect((await runMigrations(pool, DEVICE_COMMANDS_MIGRATION_SET)).applied).toEqual([]);
  });

  it('records queued, once per id, with actor and args', async () => {
    const c = cmd({ actor: { subject: 'alice' } });
    expect(await store.record(c)).toBe(true);
    expect(await store.record({ ...c, deviceId: 'other' })).toBe(false);
    expect(await store.get(c.commandId)).toMatchObject({
      commandId: c.commandId,
      deviceId: 'dev-1',
      name: 'start-vm',
      args: { vmName: 'rtvm1' },
      status: 'queued',
      reply: null,
      actor: { subject: 'alice' },
      decidedAt: null,
      createdAt: t0.toISOString(),
      deliverBy: later(hour).toISOString(),
      sentAt: null,
      expiresAt: null,
      batchId: null,
    });
    expect(await store.get('nope')).toBeNull();
  });

  it('runs queued → sent → acknowledged → succeeded with the times', async () => {
    const c = cmd();
    await store.record(c);
    // Undecided commands are not delivered.
    expect((await store.deliverable('dev-1', later(1000))).map((x) => x.commandId)).not.toContain(
      c.commandId,
    );
    expect(await store.accepted(c.commandId, later(500))).toBe(true);
    expect(await store.accepted(c.commandId, later(900))).toBe(true);
    expect((await store.deliverable('dev-1', later(1000))).map((x) => x.commandId)).toContain(c.commandId);
    expect(await store.markSent(c.commandId, later(1000))).toBe(true);
    expect(await store.markSent(c.commandId, later(1000))).toBe(false);
    expect(await store.ack('dev-1', { commandId: c.commandId, outcome: 'accepted' }, later(2000))).toBe(
      'applied',
    );
    expect(await store.ack('dev-1', { commandId: c.commandId, outcome: 'accepted' }, later(2100))).toBe(
      'ignored',
    );
    expect(await store.ack('dev-1', { commandId: c.commandId, outcome: 'done' }, later(3000))).toBe(
      'applied',
    );
    expect(await store.get(c.commandId)).toMatchObject({
      status: 'succeeded',
      decidedAt: later(500).toISOString(),
      sentAt: later(1000).toISOString(),
      expiresAt: later(1000 + DEFAULT_COMMAND_TIMEOUT_MS['start-vm']).toISOString(),
      acknowledgedAt: later(2000).toISOString(),
      completedAt: later(3000).toISOString(),
      reply: null,
    });
    // Late: recorded, no change.
    expect(
      await store.ack('dev-1', {
        commandId: c.commandId,
        outcome: 'failed',
        error: { code: 'VM_NOT_FOUND', message: 'x' },
      }),
    ).toBe('late');
    expect(await store.get(c.commandId)).toMatchObject({
      status: 'succeeded',
      lateAck: { outcome: 'failed', error: { code: 'VM_NOT_FOUND', message: 'x' } },
    });
  });

  it('failed before accepted is rejected, after accepted failed, with the reply', async () => {
    const a = cmd();
    const b = cmd();
    await store.recordMany([a, b]);
    for (const c of [a, b]) {
      await store.accepted(c.commandId);
      await store.markSent(c.commandId, later(1000));
    }
    const error = { code: 'VM_STATE_CONFLICT', message: 'rtvm1 is running' };
    expect(await store.ack('dev-1', { commandId: a.commandId, outcome: 'failed', error })).toBe('applied');
    await store.ack('dev-1', { commandId: b.commandId, outcome: 'accepted' });
    expect(await store.ack('dev-1', { commandId: b.commandId, outcome: 'failed', error })).toBe('applied');
    expect(await store.get(a.commandId)).toMatchObject({
      status: 'rejected',
      reply: { ...error, details: null },
    });
    expect(await store.get(b.commandId)).toMatchObject({
      status: 'failed',
      reply: { ...error, details: null },
    });
  });

  it('an ack for an id never sent, or from another device, is unknown', async () => {
    const c = cmd();
    await store.record(c);
    await store.accepted(c.commandId);
    expect(await store.ack('dev-1', { commandId: randomUUID(), outcome: 'done' })).toBe('unknown-command');
    expect(await store.ack('dev-1', { commandId: c.commandId, outcome: 'done' })).toBe('unknown-command');
    await store.markSent(c.commandId, later(1000));
    expect(await store.ack('dev-2', { commandId: c.commandId, outcome: 'done' })).toBe('unknown-command');
    expect((await store.get(c.commandId))?.status).toBe('sent');
  });

  it('batch forms: getMany, acceptedMany, markSentMany move each command once', async () => {
    const cs = [0, 1, 2].map(() => cmd({ deviceId: 'dev-many' }));
    await store.recordMany(cs);
    const ids = cs.map((c) => c.commandId);
    expect([...(await store.getMany([...ids, 'nope'])).keys()].sort()).toEqual([...ids].sort());
    expect(await store.acceptedMany(ids.map((commandId) => ({ commandId, at: later(5) })))).toBe(3);
    await store.markSent(ids[0], later(10));
    const moved = await store.markSentMany(ids, later(20));
    expect([...moved].sort()).toEqual(ids.slice(1).sort());
    expect(await store.markSentMany(ids, later(30))).toEqual(new Set());
    const rows = await store.getMany(ids);
    expect(rows.get(ids[0])).toMatchObject({
      status: 'sent',
      sentAt: later(10).toISOString(),
      decidedAt: later(5).toISOString(),
    });
    expect(rows.get(ids[2])).toMatchObject({
      status: 'sent',
      expiresAt: later(20 + DEFAULT_COMMAND_TIMEOUT_MS['start-vm']).toISOString(),
    });
  });

  it('two gateways sending the same commands at once: each command goes out from one of them', async () => {
    const cs = Array.from({ length: 200 }, () => cmd({ deviceId: 'dev-race', decidedAt: t0 }));
    await store.recordMany(cs);
    const ids = cs.map((c) => c.commandId);
    const [a, b] = await Promise.all([
      store.markSentMany(ids, later(1)),
      store.markSentMany([...ids].reverse(), later(2)),
    ]);
    expect(a.size + b.size).toBe(200);
    expect([...a].filter((id) => b.has(id))).toEqual([]);
  });

  it('the domain rejects only queued commands', async () => {
    const c = cmd();
    await store.record(c);
    expect(
      await store.rejected(c.commandId, { code: 'VM_NOT_FOUND', message: 'no rtvm1', details: { vm: 1 } }),
    ).toBe(true);
    expect(await store.rejected(c.commandId, { code: 'OTHER', message: 'again' })).toBe(false);
    expect(await store.get(c.commandId)).toMatchObject({
      status: 'rejected',
      reply: { code: 'VM_NOT_FOUND', message: 'no rtvm1', details: { vm: 1 } },
    });
    expect(await store.markSent(c.commandId, later(1))).toBe(false);
  });

  it('delivers in recorded order and not past deliver_by', async () => {
    const cs = [0, 1, 2].map((i) =>
      cmd({ deviceId: 'dev-order', args: { vmName: `vm${i}` }, decidedAt: t0 }),
    );
    cs.push(cmd({ deviceId: 'dev-order', deliverBy: later(10), decidedAt: t0 }));
    await store.recordMany(cs);
    expect((await store.deliverable('dev-order', later(5))).map((x) => x.commandId)).toEqual(
      cs.map((c) => c.commandId),
    );
    expect((await store.deliverable('dev-order', later(10))).map((x) => x.args.vmName)).toEqual([
      'vm0',
      'vm1',
      'vm2',
    ]);
    expect(await store.markSent(cs[3].commandId, later(10))).toBe(false);
  });

  it('sweeps: queued past deliver_by expires, in flight past expires_at times out', async () => {
    const q = cmd({ deviceId: 'dev-sweep', deliverBy: later(1000) });
    const s = cmd({ deviceId: 'dev-sweep', decidedAt: t0 });
    const a = cmd({ deviceId: 'dev-sweep', decidedAt: t0 });
    await store.recordMany([q, s, a]);
    await store.markSent(s.commandId, t0);
    await store.markSent(a.commandId, t0);
    await store.ack('dev-sweep', { commandId: a.commandId, outcome: 'accepted' });
    const before = await store.sweep(later(999));
    expect(before.timedOut).toBe(0);
    const swept = await store.sweep(later(DEFAULT_COMMAND_TIMEOUT_MS['start-vm']));
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect(swept.timedOut).toBeGreaterThanOrEqual(2);
    expect((await store.get(q.commandId))?.status).toBe('expired');
    expect((await store.get(s.commandId))?.status).toBe('timed-out');
    expect((await store.get(a.commandId))?.status).toBe('timed-out');
    expect(await store.ack('dev-sweep', { commandId: s.commandId, outcome: 'done' })).toBe('late');
    expect((await store.get(s.commandId))?.status).toBe('timed-out');
  });

  it('lists newest first with a keyset cursor and filters', async () => {
    const cs = Array.from({ length: 7 }, (_, i) =>
      cmd({ deviceId: 'dev-list', createdAt: later(i * 1000 + 0.5), commandId: `list-${i}` }),
    );
    await store.recordMany(cs);
    await store.rejected('list-3', { code: 'X', message: 'x' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<DeviceCommandStore['list']>> = await store.list({
        deviceId: 'dev-list',
        limit: 3,
        cursor,
      });
      seen.push(...page.items.map((x) => x.commandId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['list-6', 'list-5', 'list-4', 'list-3', 'list-2', 'list-1', 'list-0']);
    expect(
      (await store.list({ deviceId: 'dev-list', status: 'rejected' })).items.map((x) => x.commandId),
    ).toEqual(['list-3']);
    expect((await store.list({ deviceId: 'dev-list', status: ['queued'], limit: 100 })).items).toHaveLength(
      6,
    );
    await expect(store.list({ cursor: 'garbage' })).rejects.toBeInstanceOf(DeviceCommandStoreError);
  });

  it('records a 10,000-device batch fast and counts it by status', async () => {
    const batchId = randomUUID();
    const cs = Array.from({ length: 10_000 }, (_, i) =>
      cmd({ deviceId: `fleet-${i}`, createdAt: undefined }),
    );
    const started = Date.now();
    const n = await store.recordMany(cs, {
      batchId,
      action: 'reboot',
      args: { reason: 'x' },
      filter: { site: 'a' },
    });
    const ms = Date.now() - started;
    expect(n).toBe(10_000);
    expect(ms).toBeLessThan(5000);
    expect(await store.getBatch(batchId)).toMatchObject({ batchId, action: 'reboot', total: 10_000 });
    await store.rejected(cs[0].commandId, { code: 'X', message: 'x' });
    const counts = await store.batchCounts(batchId);
    expect(counts).toMatchObject({ queued: 9_999, rejected: 1, sent: 0, succeeded: 0 });
    expect((await store.list({ batchId, limit: 5 })).items).toHaveLength(5);
    // Recording again changes nothing.
    expect(await store.recordMany(cs.slice(0, 10), { batchId, action: 'reboot' })).toBe(0);
  });

  it('hands undecided commands to concurrent dispatchers without overlap, and back after the lease', async () => {
    await pool.query(`UPDATE hf.commands SET decided_at = now() WHERE decided_at IS NULL`);
    const cs = Array.from({ length: 20 }, (_, i) =>
      cmd({ deviceId: `undecided-${i}`, deliverBy: new Date(Date.now() + hour) }),
    );
    await store.recordMany(cs);
    const [x, y] = await Promise.all([store.undecided(12), store.undecided(12)]);
    const ids = [...x, ...y].map((c) => c.commandId);
    expect(new Set(ids).size).toBe(20);
    expect(ids.sort()).toEqual(cs.map((c) => c.commandId).sort());
    expect(await store.undecided(10)).toEqual([]);
    await store.accepted(cs[0].commandId);
    const again = await store.undecided(50, 30_000, new Date(Date.now() + 60_000));
    expect(again.map((c) => c.commandId).sort()).toEqual(
      cs
        .slice(1)
        .map((c) => c.commandId)
        .sort(),
    );
  });
});
