import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { exampleDeviceMessages } from '@hyperfleet/contracts';
import { PostgresEventStore, PostgresNotifier } from '@hyperfleet/event-store';
import { PostgresLogTransport, type Delivery, type TransportRecord } from '@hyperfleet/messaging';
import { createTestDatabase, type TestDatabase } from '@hyperfleet/testing';
import { DeadLetters } from '../framework/dead-letters';
import { rebuildProjection } from '../framework/rebuild';
import { ProjectionRunner } from '../framework/runner';
import { migrateProjectionDatabase } from '../registry';
import { LATENCY_BUCKETS, bucketIndex } from './histogram';
import { queryLatencyHistogram, queryRollups } from './queries';
import { telemetryRtBudgetsProjection } from './rt-budgets.projection';
import { DEFAULT_LATENCY_SLO, latencySloReport } from './slo';
import { TelemetryRollupRunner, applyTelemetryBatch } from './telemetry-rollups';
import { asGateway } from '../../test/gateway-records';

const envelope = (epoch: number, seq: number, sentAt: string) => ({
  protocolVersion: 1 as const,
  msgId: randomUUID(),
  epoch,
  seq,
  sentAt,
});

/** A telemetry batch: `n` samples per VM, one every 5 s from `start`. */
function telemetry(
  deviceId: string,
  epoch: number,
  seq: number,
  start: number,
  vms: { vmName: string; cpu: number; maxUs?: number }[],
  n = 1,
): TransportRecord[] {
  const samples = [];
  for (let i = 0; i < n; i++) {
    for (const vm of vms) {
      samples.push({
        at: new Date(start + i * 5000).toISOString(),
        vmName: vm.vmName,
        cpuPercent: vm.cpu,
        memoryUsedBytes: 1_000_000 + i,
        ...(vm.maxUs === undefined ? {} : { rtLatencyUs: { max: vm.maxUs + (i % 3), avg: 4 } }),
      });
    }
  }
  return asGateway(deviceId, 'telemetry', {
    ...envelope(epoch, seq, new Date(start).toISOString()),
    payload: { samples, droppedSamples: 0 },
  });
}

function health(deviceId: string, epoch: number, seq: number, windowStart: number, worstUs: number) {
  const example = exampleDeviceMessages().health.payload;
  return asGateway(deviceId, 'health', {
    ...envelope(epoch, seq, new Date(windowStart + 60_000).toISOString()),
    payload: {
      ...example,
      windowStart: new Date(windowStart).toISOString(),
      windowEnd: new Date(windowStart + 60_000).toISOString(),
      rtVms: [{ ...example.rtVms[0], worstCaseLatencyUs: worstUs }],
    },
  });
}

/**
 * The PostgreSQL log shows records only below the oldest running transaction of the whole server, so on
 * a busy server (other suites) a record appears a little after its commit: wait for what a test expects.
 */
async function waitFor(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('telemetry rollups (real PostgreSQL, PostgreSQL-log telemetry channel)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let notifier: PostgresNotifier;
  let transport: PostgresLogTransport;
  let store: PostgresEventStore;

  const minuteRows = async (deviceId: string) =>
    (
      await pool.query<{
        vm_name: string;
        minute: Date;
        samples: string;
        cpu_sum: number;
        cpu_max: number;
        lat_obs: string;
        lat_max: number | null;
        hist: string[] | null;
        health_reports: string;
      }>(`SELECT * FROM rm.telemetry_minute WHERE device_id = $1 ORDER BY vm_name, minute`, [deviceId])
    ).rows.map((r) => ({
      vm: r.vm_name,
      minute: r.minute.toISOString(),
      samples: Number(r.samples),
      cpuSum: r.cpu_sum,
      cpuMax: r.cpu_max,
      latObs: Number(r.lat_obs),
      latMax: r.lat_max,
      histTotal: r.hist ? r.hist.reduce((n, c) => n + Number(c), 0) : null,
      healthReports: Number(r.health_reports),
    }));

  const state = async (deviceId: string) =>
    (
      await pool.query(
        `SELECT epoch::int, hwm::int, records::int, samples::int, duplicates::int, stale::int, invalid::int
           FROM rm.telemetry_ingest_state WHERE device_id = $1`,
        [deviceId],
      )
    ).rows[0];

  /** The records of devices matching `prefix`, as a fresh group receives them (to call handlers by hand). */
  const capture = async (prefix: string, count: number): Promise<Delivery[]> => {
    const got: Delivery[] = [];
    const sub = await transport.subscribe({
      group: `capture-${randomUUID()}`,
      channel: 'telemetry',
      handle: async (b) => void got.push(...b.filter((d) => d.key.startsWith(prefix))),
    });
    await waitFor(`${count} records of ${prefix}`, async () => got.length >= count);
    await sub.stop();
    return got;
  };

  /** Until the runner has taken in `records` records of the device (applied or not). */
  const handled = (deviceId: string, records: number) =>
    waitFor(`${records} records of ${deviceId}`, async () => {
      const s = await state(deviceId);
      return !!s && s.records + s.duplicates + s.stale + s.invalid >= records;
    });

  beforeAll(async () => {
    db = await createTestDatabase('hf_telemetry');
    pool = new Pool({ connectionString: db.url, max: 10 });
    await migrateProjectionDatabase(pool, db.url);
    notifier = new PostgresNotifier(pool);
    await notifier.start();
    transport = new PostgresLogTransport({ pool, notifier, pollIntervalMs: 50 });
    await transport.start();
    store = new PostgresEventStore(pool);
  });

  afterAll(async () => {
    await transport.close();
    await notifier.stop();
    await pool.end();
    await db.drop();
  });

  it('rolls up telemetry and health records published as the gateway publishes them', async () => {
    const examples = exampleDeviceMessages();
    await transport.publish('telemetry', [
      ...asGateway('ipc-0042', 'health', examples.health),
      ...asGateway('ipc-0042', 'telemetry', examples.telemetry),
      ...asGateway('ipc-0042', 'update-progress', examples['update-progress']), // not ours: skipped
    ]);
    const runner = new TelemetryRollupRunner({ pool, transport });
    expect(runner.group).toBe('projector.telemetry-rollups');
    await runner.start();
    await handled('ipc-0042', 2);
    await runner.stop();

    expect(await minuteRows('ipc-0042')).toEqual([
      // the health window 08:04–08:05: 60000 cyclictest loops, worst case 11 µs
      {
        vm: 'RT_VM0',
        minute: '2025-02-03T08:04:00.000Z',
        samples: 0,
        cpuSum: 0,
        cpuMax: null,
        latObs: 60000,
        latMax: 11,
        histTotal: 60000,
        healthReports: 1,
      },
      // two telemetry samples at 08:05:00 and 08:05:05
      {
        vm: 'RT_VM0',
        minute: '2025-02-03T08:05:00.000Z',
        samples: 2,
        cpuSum: 124.5,
        cpuMax: 63,
        latObs: 2,
        latMax: 11,
        histTotal: 2,
        healthReports: 0,
      },
      {
        vm: 'Service_VM',
        minute: '2025-02-03T08:05:00.000Z',
        samples: 1,
        cpuSum: 11.2,
        cpuMax: 11.2,
        latObs: 0,
        latMax: null,
        histTotal: null,
        healthReports: 0,
      },
    ]);
    expect(await state('ipc-0042')).toMatchObject({
      epoch: 7,
      hwm: 5,
      records: 2,
      samples: 3,
      duplicates: 0,
    });

    const [series] = await queryRollups(pool, {
      deviceId: 'ipc-0042',
      vmName: 'RT_VM0',
      from: new Date('2025-02-03T08:00:00Z'),
      to: new Date('2025-02-03T09:00:00Z'),
      bucket: '5m',
    });
    expect(series.points).toHaveLength(2); // 08:00 (the 08:04 minute) and 08:05
    expect(series.points[1]).toMatchObject({
      start: '2025-02-03T08:05:00.000Z',
      samples: 2,
      cpuPercent: { avg: 62.25, max: 63 },
      latencyUs: { observations: 2, min: 4.1, avg: 4.2, max: 11, overflow: 0 },
    });
    const [hourly] = await queryRollups(pool, {
      deviceId: 'ipc-0042',
      vmName: 'RT_VM0',
      from: new Date('2025-02-03T08:00:00Z'),
      to: new Date('2025-02-03T09:00:00Z'),
      bucket: '1h',
    });
    expect(hourly.points).toEqual([
      expect.objectContaining({
        start: '2025-02-03T08:00:00.000Z',
        latencyUs: expect.objectContaining({ observations: 60002, max: 11 }),
      }),
    ]);
    const h = await queryLatencyHistogram(pool, {
      deviceId: 'ipc-0042',
      vmName: 'RT_VM0',
      from: new Date('2025-02-03T08:00:00Z'),
      to: new Date('2025-02-03T09:00:00Z'),
    });
    expect(h.total).toBe(60002);
    expect(h.minutes).toBe(2);
    expect(h.buckets).toHaveLength(LATENCY_BUCKETS + 1);
    expect(h.buckets[bucketIndex(4)].count).toBe(51436);
    expect(h.buckets[bucketIndex(9)].count).toBe(8559 + 1);
    expect(h.buckets[bucketIndex(11)].count).toBe(5 + 1);
    expect(h.latencyUs.p99).toBeGreaterThan(5);
    expect(h.latencyUs.p99).toBeLessThanOrEqual(10);
    expect(h.latencyUs.max).toBe(11);
  });

  it('the same records delivered twice (a gateway re-publishing after a crash) count once', async () => {
    const t0 = Date.UTC(2026, 0, 1, 10, 0);
    const records = [
      ...telemetry('veh-dup', 3, 1, t0, [{ vmName: 'RT_VM0', cpu: 50, maxUs: 20 }], 6),
      ...health('veh-dup', 3, 2, t0, 30),
      ...telemetry('veh-dup', 3, 3, t0 + 30_000, [{ vmName: 'RT_VM0', cpu: 70, maxUs: 20 }], 6),
    ];
    const runner = new TelemetryRollupRunner({ pool, transport });
    await runner.start();
    await transport.publish('telemetry', records);
    await handled('veh-dup', 3);
    const once = await minuteRows('veh-dup');
    await transport.publish('telemetry', records);
    await transport.publish('telemetry', [records[1]]);
    await handled('veh-dup', 3 + 4);
    await runner.stop();
    expect(await minuteRows('veh-dup')).toEqual(once);
    expect(once).toEqual([
      expect.objectContaining({
        minute: '2026-01-01T10:00:00.000Z',
        samples: 12,
        cpuSum: 6 * 50 + 6 * 70,
        latObs: 60000 + 12,
        healthReports: 1,
      }),
    ]);
    expect(await state('veh-dup')).toMatchObject({ records: 3, duplicates: 4, samples: 12 });
  });

  it('a run killed between its commit and the checkpoint: the redelivered batch changes nothing', async () => {
    const t0 = Date.UTC(2026, 0, 1, 11, 0);
    await transport.publish('telemetry', [
      ...telemetry('veh-kill', 1, 1, t0, [{ vmName: 'RT_VM0', cpu: 10, maxUs: 15 }], 4),
      ...health('veh-kill', 1, 2, t0, 18),
    ]);
    const batch = await capture('veh-kill', 2);
    expect(batch).toHaveLength(2);

    // By hand: the handler ran and committed, the process died before the checkpoint, the batch came back.
    const runner = new TelemetryRollupRunner({ pool, transport });
    const first = await runner.handle(batch);
    const second = await runner.handle(batch);
    expect(first).toMatchObject({ records: 2, applied: 2, duplicates: 0, samples: 4 });
    expect(second).toMatchObject({ records: 2, applied: 0, duplicates: 2, samples: 0 });
    const rows = await minuteRows('veh-kill');
    expect(rows).toEqual([expect.objectContaining({ samples: 4, latObs: 60004, healthReports: 1 })]);

    // Through the transport: a handler that commits and then fails is delivered the batch again.
    await pool.query(`DELETE FROM rm.telemetry_minute WHERE device_id = 'veh-kill'`);
    await pool.query(`DELETE FROM rm.telemetry_ingest_state WHERE device_id = 'veh-kill'`);
    let deliveries = 0;
    const sub = await transport.subscribe({
      group: `crashy-${randomUUID()}`,
      channel: 'telemetry',
      onError: () => undefined,
      handle: async (b) => {
        const mine = b.filter((d) => d.key === 'veh-kill');
        if (!mine.length) return;
        await applyTelemetryBatch(pool, mine);
        if (++deliveries === 1) throw new Error('killed after commit, before the checkpoint');
      },
    });
    await waitFor('the redelivery', async () => deliveries >= 2);
    await sub.waitUntilCaughtUp();
    await sub.stop();
    expect(deliveries).toBe(2);
    expect(await minuteRows('veh-kill')).toEqual(rows);
  });

  it('counts a telemetry batch that arrives after a later health report (epoch-only ordering)', async () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0);
    const runner = new TelemetryRollupRunner({ pool, transport });
    await runner.handle([
      ...telemetry('veh-late', 2, 10, t0, [{ vmName: 'RT_VM0', cpu: 10 }]),
      ...health('veh-late', 2, 12, t0, 9),
      ...telemetry('veh-late', 2, 11, t0 + 5000, [{ vmName: 'RT_VM0', cpu: 10 }]), // below the mark, new
      ...telemetry('veh-late', 1, 99, t0, [{ vmName: 'RT_VM0', cpu: 10 }]), // an older epoch: a redelivery
    ]);
    expect(await minuteRows('veh-late')).toEqual([expect.objectContaining({ samples: 2, healthReports: 1 })]);
    expect(await state('veh-late')).toMatchObject({ epoch: 2, hwm: 12, records: 3, duplicates: 1 });
  });

  it('off-contract records are counted and skipped: nothing a device sends can stop the runner', async () => {
    const t0 = Date.UTC(2026, 0, 1, 14, 0);
    const [good] = telemetry('veh-odd', 1, 1, t0, [{ vmName: 'RT_VM0', cpu: 10, maxUs: 5 }]);
    const data = good.event.data as Record<string, unknown>;
    const sample = (data.samples as Record<string, unknown>[])[0];
    const odd = (key: string, type: string, d: Record<string, unknown>): TransportRecord => ({
      key,
      event: { ...good.event, id: randomUUID(), type, data: d as TransportRecord['event']['data'] },
    });
    const r = await applyTelemetryBatch(pool, [
      odd('veh-odd', 'hf.device.telemetry', {
        ...data,
        seq: 2,
        samples: [
          { ...sample, vmName: 'RT\u0000VM' },
          { ...sample, at: '+275760-09-13T00:00:00.000Z' },
          { ...sample, memoryUsedBytes: 2 ** 60 },
          sample,
        ],
      }),
      odd('veh-odd', 'hf.device.health', {
        ...(health('veh-odd', 1, 3, t0, 5)[0].event.data as Record<string, unknown>),
        rtVms: [{ vmName: 'RT_VM0', samples: 1e18, avgLatencyUs: 1, worstCaseLatencyUs: 2, jitterUs: 1 }],
      }),
      odd('veh-odd', 'hf.device.telemetry', { ...data, seq: 'x' }),
      odd('bad key\u0000', 'hf.device.telemetry', data),
      good,
    ]);
    expect(r).toMatchObject({ records: 5, applied: 3, invalid: 2, samples: 2 });
    expect(await minuteRows('veh-odd')).toEqual([expect.objectContaining({ samples: 2, latObs: 2 })]);
    expect(await state('veh-odd')).toMatchObject({ records: 3, invalid: 1 + 3 + 1 });
  });

  it('two instances racing over the same records (a rebalance) still count each once', async () => {
    const t0 = Date.UTC(2026, 0, 1, 13, 0);
    const records: TransportRecord[] = [];
    for (let d = 0; d < 20; d++) {
      for (let s = 1; s <= 10; s++) {
        records.push(
          ...telemetry(`race-${d}`, 1, s, t0 + s * 10_000, [
            { vmName: 'RT_VM0', cpu: 1, maxUs: 10 },
            { vmName: 'HMI_VM', cpu: 2 },
          ]),
        );
      }
    }
    await transport.publish('telemetry', records);
    const batch = await capture('race-', records.length);
    const a = new TelemetryRollupRunner({ pool, transport });
    const b = new TelemetryRollupRunner({ pool, transport });
    const chunks = (xs: Delivery[], n: number) =>
      Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
    await Promise.all([
      (async () => {
        for (const c of chunks(batch, 17)) await a.handle(c);
      })(),
      (async () => {
        for (const c of chunks([...batch].reverse(), 23)) await b.handle(c);
      })(),
    ]);
    const { rows } = await pool.query<{ n: string; obs: string }>(
      `SELECT sum(samples) AS n, sum(lat_obs) AS obs FROM rm.telemetry_minute WHERE device_id LIKE 'race-%'`,
    );
    expect(Number(rows[0].n)).toBe(20 * 10 * 2);
    expect(Number(rows[0].obs)).toBe(20 * 10);
    expect(a.totals.applied + b.totals.applied).toBe(200);
    expect(a.totals.duplicates + b.totals.duplicates).toBe(200);
  });

  it('the SLO view: budgets from RtVmRegistered/RtVmLatencyBudgetChanged, filters by class and site', async () => {
    const now = new Date(Date.UTC(2026, 1, 1, 12, 0, 30));
    const hour = Date.UTC(2026, 1, 1, 11, 0);
    const append = (deviceId: string, events: { type: string; data: Record<string, unknown> }[]) =>
      store.append(
        `slo-${deviceId}-${randomUUID()}`,
        'any',
        events.map((e) => ({ ...e, data: { deviceId, ...e.data }, metadata: { deviceId } })),
      );
    await append('slo-a', [
      {
        type: 'DeviceProvisioned',
        data: { deviceClass: 'vehicle', site: 'north', tags: [], at: '2026-01-01T00:00:00Z' },
      },
      {
        type: 'RtVmRegistered',
        data: {
          vmName: 'RT_VM0',
          latencyBudgetUs: 30,
          loadOrder: 'POST_LAUNCHED_VM',
          pinnedPcpus: [1],
          state: 'started',
          at: '2026-01-01T00:00:00Z',
        },
      },
      // From 11:30 the budget is 100 µs: the 40 µs minutes after it are good.
      {
        type: 'RtVmLatencyBudgetChanged',
        data: { vmName: 'RT_VM0', budgetUs: 100, previousBudgetUs: 30, at: '2026-02-01T11:30:00Z' },
      },
    ]);
    await append('slo-b', [
      {
        type: 'DeviceProvisioned',
        data: { deviceClass: 'industrial-pc', site: 'south', tags: [], at: '2026-01-01T00:00:00Z' },
      },
      { type: 'DeviceLabelsUpdated', data: { site: 'east', tags: [], at: '2026-01-02T00:00:00Z' } },
    ]);
    const deadLetters = new DeadLetters(pool, transport);
    const budgets = new ProjectionRunner(telemetryRtBudgetsProjection, { pool, transport, deadLetters });
    await budgets.start();
    await waitFor('the budgets and labels', async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM rm.telemetry_rt_budgets WHERE device_id = 'slo-a')::int
              + (SELECT count(*) FROM rm.telemetry_device_labels WHERE site = 'east')::int AS n`,
      );
      return rows[0].n === 3;
    });
    await budgets.stop();

    // slo-a/RT_VM0: 40 µs every minute of the hour (bad until 11:30 with the 30 µs budget: 30 minutes).
    // slo-b/RT_VM0: no budget known → 50 µs; 60 µs in 2 of its 60 minutes.
    const runner = new TelemetryRollupRunner({ pool, transport });
    const recs: TransportRecord[] = [];
    for (let m = 0; m < 60; m++) {
      const at = hour + m * 60_000;
      recs.push(...telemetry('slo-a', 1, m + 1, at, [{ vmName: 'RT_VM0', cpu: 5, maxUs: 40 }]));
      recs.push(...telemetry('slo-b', 1, m + 1, at, [{ vmName: 'RT_VM0', cpu: 5, maxUs: m < 2 ? 60 : 20 }]));
    }
    await runner.handle(recs);

    const report = await latencySloReport(pool, DEFAULT_LATENCY_SLO, {
      window: '1h',
      windowMs: 3_600_000,
      now,
    });
    expect(report).toMatchObject({
      window: '1h',
      from: '2026-02-01T11:00:00.000Z',
      to: '2026-02-01T12:00:00.000Z',
    });
    expect(report.fleet).toMatchObject({
      devices: 2,
      rtVms: 2,
      rtVmsMeetingObjective: 0,
      minutes: 120,
      badMinutes: 32,
      meetsObjective: false,
    });
    expect(report.worstOffenders.map((o) => [o.deviceId, o.badMinutes, o.budgetUs, o.budgetKnown])).toEqual([
      ['slo-a', 30, 100, true],
      ['slo-b', 2, 50, false],
    ]);
    expect(report.worstOffenders[0]).toMatchObject({
      deviceClass: 'vehicle',
      site: 'north',
      coverage: 1,
      worstLatencyUs: 40,
    });
    expect(report.worstOffenders[0].errorBudget.burnRate).toBeCloseTo(30 / 60 / 0.001, 3);

    const east = await latencySloReport(pool, DEFAULT_LATENCY_SLO, {
      window: '1h',
      windowMs: 3_600_000,
      now,
      site: 'east',
    });
    expect(east.worstOffenders.map((o) => o.deviceId)).toEqual(['slo-b']);
    const vehicles = await latencySloReport(pool, DEFAULT_LATENCY_SLO, {
      window: '24h',
      windowMs: 86_400_000,
      now,
      deviceClass: 'vehicle',
    });
    expect(vehicles.fleet).toMatchObject({ devices: 1, minutes: 60, badMinutes: 30 });
    expect(vehicles.worstOffenders[0].coverage).toBeCloseTo(60 / 1440, 5);

    // The companion projection rebuilds from position 0 like any other (shadow tables, swapped in).
    const snapshot = async () =>
      (
        await pool.query(
          `SELECT 'b' AS t, device_id, vm_name AS k, budget_us::text AS v FROM rm.telemetry_rt_budgets
           UNION ALL SELECT 'l', device_id, device_class, site FROM rm.telemetry_device_labels ORDER BY 1, 2, 3, 4`,
        )
      ).rows;
    const before = await snapshot();
    await rebuildProjection(pool, telemetryRtBudgetsProjection);
    expect(await snapshot()).toEqual(before);
  });

  it('throughput: thousands of samples per second through the channel', async () => {
    // 400 devices × 25 batches, each 4 VMs × 2 samples (a batch every 10 s) + a health report every
    // 5th batch: 80,000 samples in 10,000 records, as a busy fleet sends them.
    const t0 = Date.UTC(2026, 2, 1, 0, 0);
    const vms = [
      { vmName: 'Service_VM', cpu: 12 },
      { vmName: 'RT_VM0', cpu: 60, maxUs: 12 },
      { vmName: 'RT_VM1', cpu: 55, maxUs: 18 },
      { vmName: 'HMI_VM', cpu: 30 },
    ];
    const records: TransportRecord[] = [];
    for (let b = 0; b < 25; b++) {
      for (let d = 0; d < 400; d++) {
        const id = `bench-${d}`;
        records.push(...telemetry(id, 1, 2 * b + 1, t0 + b * 10_000, vms, 2));
        if (b % 5 === 4) records.push(...health(id, 1, 2 * b + 2, t0 + Math.floor(b / 6) * 60_000, 25));
      }
    }
    for (let i = 0; i < records.length; i += 2000)
      await transport.publish('telemetry', records.slice(i, i + 2000));
    const samples = 25 * 400 * 8;

    // Start the clock once every record is visible on the log (see waitFor).
    await waitFor('the published records', async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM hf.telemetry_log
          WHERE key LIKE 'bench-%' AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
      );
      return rows[0].n === records.length;
    });
    const runner = new TelemetryRollupRunner({ pool, transport });
    const started = process.hrtime.bigint();
    await runner.start();
    await waitFor(
      'the bench records',
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT coalesce(sum(records), 0)::int AS n FROM rm.telemetry_ingest_state WHERE device_id LIKE 'bench-%'`,
        );
        return rows[0].n === records.length;
      },
      120_000,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const benchSamples = await pool.query<{ n: string }>(
      `SELECT sum(samples) AS n FROM rm.telemetry_minute WHERE device_id LIKE 'bench-%'`,
    );
    await runner.stop();
    expect(Number(benchSamples.rows[0].n)).toBe(samples);
    const perSecond = Math.round(samples / seconds);
    console.log(
      `telemetry rollups: ${samples} samples in ${records.length} records in ${seconds.toFixed(2)} s ` +
        `(${perSecond} samples/s, ${Math.round(records.length / seconds)} records/s, ${runner.totals.batches} batches)`,
    );
    expect(perSecond).toBeGreaterThan(5000);
  });
});
