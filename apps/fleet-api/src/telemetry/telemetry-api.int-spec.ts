import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { decodeDeviceMessage, encodeDeviceMessage, exampleDeviceMessages } from '@hyperfleet/contracts';
import type { TransportRecord } from '@hyperfleet/messaging';
import {
  applyBatch,
  applyTelemetryBatch,
  telemetryRtBudgetsProjection,
  type ProjectedEvent,
} from '@hyperfleet/read-models';
import { Command } from 'commander';
import { effectOf } from '../../../device-gateway/src/ingress/effects';
import { registerTelemetryCommands } from '../../../fleetctl/src/commands/telemetry';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

const MINUTE = 60_000;

/** A telemetry batch as the gateway puts it on the channel: one sample per VM at `at`. */
function telemetryRecord(
  deviceId: string,
  seq: number,
  at: number,
  vms: { vmName: string; cpu: number; maxUs?: number }[],
): TransportRecord[] {
  const out = encodeDeviceMessage(deviceId, 'telemetry', {
    protocolVersion: 1,
    msgId: randomUUID(),
    epoch: 1,
    seq,
    sentAt: new Date(at).toISOString(),
    payload: {
      samples: vms.map((vm) => ({
        at: new Date(at).toISOString(),
        vmName: vm.vmName,
        cpuPercent: vm.cpu,
        memoryUsedBytes: 500_000_000,
        ...(vm.maxUs === undefined ? {} : { rtLatencyUs: { max: vm.maxUs, avg: vm.maxUs / 3 } }),
      })),
      droppedSamples: 0,
    },
  });
  const decoded = decodeDeviceMessage(out.topic, out.payload, { authenticatedDeviceId: deviceId });
  if (!decoded.ok) throw new Error(decoded.message);
  return [...effectOf(decoded, { defaultLatencyBudgetUs: 50 }).telemetry];
}

const domainEvent = (
  type: string,
  streamId: string,
  n: number,
  data: Record<string, unknown>,
): ProjectedEvent => ({
  id: randomUUID(),
  type,
  streamId,
  streamPosition: n,
  logPosition: `1/${n}`,
  time: '2026-01-01T00:00:00.000Z',
  data,
  key: String(data.deviceId),
});

describe('telemetry and SLO endpoints over HTTP (Nest app, PostgreSQL)', () => {
  let api: ApiHarness;
  let pool: Pool;
  let base: string;
  /** The window's minutes hold data at offsets 1..58: a minute that ticks during the test loses none. */
  let hourStart: number;

  // Status and body only (the harness also returns the headers), so answers compare as a whole.
  const get = async (url: string) => {
    const { status, body } = await api.get(url);
    return { status, body };
  };
  const issues = (body: Body) => (body.details?.issues ?? []).map((i: Body) => `${i.path}: ${i.message}`);

  beforeAll(async () => {
    api = await startFleetApi('hf_telemetry_api', { broker: false });
    base = api.base;
    pool = new Pool({ connectionString: api.db.url, max: 4 });

    // Domain facts the SLO view reads: classes and sites, and one RT VM's budget (the other has none).
    await applyBatch(pool, telemetryRtBudgetsProjection, [
      domainEvent('DeviceProvisioned', 'hypervisor-api-veh-1', 1, {
        deviceId: 'api-veh-1',
        deviceClass: 'vehicle',
        site: 'depot-1',
        tags: [],
        at: '2026-01-01T00:00:00.000Z',
      }),
      domainEvent('DeviceProvisioned', 'hypervisor-api-ipc-2', 1, {
        deviceId: 'api-ipc-2',
        deviceClass: 'industrial-pc',
        site: 'depot-2',
        tags: [],
        at: '2026-01-01T00:00:00.000Z',
      }),
      domainEvent('RtVmRegistered', 'rt-vm-api-veh-1.RT_VM0', 1, {
        deviceId: 'api-veh-1',
        vmName: 'RT_VM0',
        latencyBudgetUs: 40,
        loadOrder: 'POST_LAUNCHED_VM',
        pinnedPcpus: [1],
        state: 'started',
        at: '2026-01-01T00:00:00.000Z',
      }),
    ]);

    // The last hour: api-veh-1's RT_VM0 at 20 µs except 3 minutes at 45 µs (over its 40 µs budget),
    // its HMI_VM without latency; api-ipc-2's RT_VM0 at 30 µs (under the 50 µs default).
    hourStart = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
    const records: TransportRecord[] = [];
    for (let m = 1; m <= 58; m++) {
      const at = hourStart + m * MINUTE + 15_000;
      records.push(
        ...telemetryRecord('api-veh-1', m, at, [
          { vmName: 'RT_VM0', cpu: 60, maxUs: m === 10 || m === 20 || m === 30 ? 45 : 20 },
          { vmName: 'HMI_VM', cpu: 20 },
        ]),
        ...telemetryRecord('api-ipc-2', m, at, [{ vmName: 'RT_VM0', cpu: 40, maxUs: 30 }]),
      );
    }
    const example = exampleDeviceMessages().health;
    const out = encodeDeviceMessage('api-veh-1', 'health', {
      ...example,
      msgId: randomUUID(),
      epoch: 1,
      seq: 100,
      payload: {
        ...example.payload,
        windowStart: new Date(hourStart + 5 * MINUTE).toISOString(),
        windowEnd: new Date(hourStart + 6 * MINUTE).toISOString(),
      },
    });
    const decoded = decodeDeviceMessage(out.topic, out.payload, { authenticatedDeviceId: 'api-veh-1' });
    if (!decoded.ok) throw new Error(decoded.message);
    records.push(...effectOf(decoded, { defaultLatencyBudgetUs: 50 }).telemetry);
    expect(await applyTelemetryBatch(pool, records)).toMatchObject({ applied: 117, samples: 58 * 3 });
  });

  afterAll(async () => {
    await pool?.end();
    await api?.close();
  });

  it('GET /api/v1/telemetry/rollups: the last hour per minute, one series per VM', async () => {
    const res = await get('/api/v1/telemetry/rollups?deviceId=api-veh-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deviceId: 'api-veh-1', vm: null, bucket: '1m' });
    expect(res.body.series.map((s: Body) => s.vmName)).toEqual(['HMI_VM', 'RT_VM0']);
    const [hmi, rt] = res.body.series;
    expect(hmi.points.length).toBeGreaterThanOrEqual(57);
    expect(hmi.points[0].latencyUs).toMatchObject({ observations: 0, max: null, p99: null });
    const at10 = rt.points.find((p: Body) => p.start === new Date(hourStart + 10 * MINUTE).toISOString());
    expect(at10).toMatchObject({
      samples: 1,
      cpuPercent: { avg: 60, max: 60 },
      memoryBytes: { avg: 500_000_000, max: 500_000_000 },
      latencyUs: { observations: 1, max: 45, p99: 45, overflow: 0 },
    });
  });

  it('GET /api/v1/telemetry/rollups: rolled up per 5 minutes for one VM', async () => {
    const from = new Date(hourStart).toISOString();
    const to = new Date(hourStart + 60 * MINUTE).toISOString();
    const res = await get(
      `/api/v1/telemetry/rollups?deviceId=api-veh-1&vm=RT_VM0&bucket=5m&from=${from}&to=${to}`,
    );
    expect(res.status).toBe(200);
    const [rt] = res.body.series;
    // Buckets align to UTC 5-minute boundaries: the range's edges may cut the first and last one.
    expect(rt.points.length).toBeGreaterThanOrEqual(12);
    for (const p of rt.points) expect(Date.parse(p.start) % (5 * MINUTE)).toBe(0);
    expect(rt.points.reduce((n: number, p: Body) => n + p.samples, 0)).toBe(58);
    const withHealth = rt.points.filter((p: Body) => p.healthReports > 0);
    expect(withHealth).toHaveLength(1);
    expect(withHealth[0].latencyUs.observations).toBe(60000 + withHealth[0].samples);
    expect(withHealth[0].latencyUs.max).toBe(20);
  });

  it('GET /api/v1/telemetry/latency-histogram: the merged histogram with percentiles', async () => {
    const res = await get('/api/v1/telemetry/latency-histogram?deviceId=api-veh-1&vm=RT_VM0');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deviceId: 'api-veh-1', vm: 'RT_VM0', total: 60000 + 58 });
    const count = (fromUs: number) => res.body.buckets.find((b: Body) => b.fromUs === fromUs).count;
    expect(count(20)).toBe(55);
    expect(count(45)).toBe(3);
    expect(res.body.buckets[res.body.buckets.length - 1]).toEqual({ fromUs: 2000, toUs: null, count: 0 });
    expect(res.body.latencyUs).toMatchObject({ max: 45, min: 2 });
    expect(res.body.latencyUs.p50).toBeLessThan(5);
  });

  it('GET /api/v1/slo/latency: fleet compliance, burn and the worst offenders; class and site filters', async () => {
    const res = await get('/api/v1/slo/latency?window=1h');
    expect(res.status).toBe(200);
    expect(res.body.slo).toMatchObject({ objective: 0.999, defaultBudgetUs: 50 });
    expect(res.body.fleet).toMatchObject({
      devices: 2,
      rtVms: 2,
      rtVmsMeetingObjective: 1,
      minutes: 58 + 58, // the health window (minute 5) falls in a minute that has a sample too
      badMinutes: 3,
    });
    expect(res.body.worstOffenders).toEqual([
      expect.objectContaining({
        deviceId: 'api-veh-1',
        vmName: 'RT_VM0',
        deviceClass: 'vehicle',
        site: 'depot-1',
        badMinutes: 3,
        worstLatencyUs: 45,
        budgetUs: 40,
        budgetKnown: true,
        meetsObjective: false,
      }),
    ]);
    expect(res.body.worstOffenders[0].errorBudget.burnRate).toBeGreaterThan(50);

    const ipc = await get('/api/v1/slo/latency?window=24h&class=industrial-pc');
    expect(ipc.body.fleet).toMatchObject({ devices: 1, badMinutes: 0, meetsObjective: true, compliance: 1 });
    expect(ipc.body.worstOffenders).toEqual([]);
    const site = await get('/api/v1/slo/latency?site=depot-1&defaultBudgetUs=10');
    expect(site.body.fleet).toMatchObject({ devices: 1, badMinutes: 3 });
    // A stricter default budget makes api-ipc-2 (no budget known) an offender.
    const strict = await get('/api/v1/slo/latency?defaultBudgetUs=25&limit=1');
    expect(strict.body.worstOffenders.map((o: Body) => o.deviceId)).toEqual(['api-ipc-2']);
  });

  it('answers 400 VALIDATION_FAILED naming the parameter, one message per mistake', async () => {
    const cases: [string, string][] = [
      ['/api/v1/telemetry/rollups', 'deviceId: '],
      ['/api/v1/telemetry/rollups?deviceId=api-veh-1&bucket=10m', 'bucket: must be one of 1m, 5m, 1h'],
      [
        '/api/v1/telemetry/rollups?deviceId=api-veh-1&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
        'from: must not be after to',
      ],
      [
        '/api/v1/telemetry/rollups?deviceId=api-veh-1&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z',
        'from: the range from 2026-01-01T00:00:00.000Z to 2026-01-03T00:00:00.000Z spans 2 days; with bucket=1m it may span at most 1 day',
      ],
      ['/api/v1/telemetry/rollups?deviceId=api-veh-1&to=tomorrow', 'to: must be an ISO-8601 date-time'],
      ['/api/v1/telemetry/rollups?deviceId=api-veh-1&vm=RT/VM0', 'vm: an ACRN VM name'],
      ['/api/v1/telemetry/rollups?deviceId=api-veh-1&bucket=1m&bucket=5m', 'bucket: must be one of'],
      ['/api/v1/telemetry/latency-histogram?deviceId=x&from=2025-01-01T00:00:00Z', 'from: the range'],
      ['/api/v1/slo/latency?window=7d', 'window: must be one of 1h, 24h'],
      ['/api/v1/slo/latency?class=truck', 'class: must be one of vehicle, industrial-pc'],
      ['/api/v1/slo/latency?limit=500', 'limit: must be at most 100'],
      ['/api/v1/slo/latency?windw=1h', '(query): Unrecognized key: "windw"'],
    ];
    for (const [url, expected] of cases) {
      const res = await get(url);
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(issues(res.body)).toEqual([expect.stringContaining(expected)]);
      expect(res.body.message).toMatch(/^The request query is invalid: /);
    }
  });

  it('documents the three endpoints and their parameters in the OpenAPI document', async () => {
    const doc = (await get('/docs-json')).body;
    const params = (p: string) => doc.paths[p].get.parameters.map((x: Body) => x.name);
    expect(params('/api/v1/telemetry/rollups')).toEqual(['deviceId', 'vm', 'from', 'to', 'bucket']);
    expect(params('/api/v1/telemetry/latency-histogram')).toEqual(['deviceId', 'vm', 'from', 'to']);
    expect(params('/api/v1/slo/latency')).toEqual([
      'window',
      'class',
      'site',
      'limit',
      'objective',
      'defaultBudgetUs',
    ]);
    expect(doc.paths['/api/v1/slo/latency'].get.responses['400']).toBeDefined();
    expect(doc.paths['/api/v1/telemetry/rollups'].get.parameters[4].schema.enum).toEqual(['1m', '5m', '1h']);
  });

  it('fleetctl telemetry histogram draws the histogram from the API', async () => {
    const lines: string[] = [];
    const log = jest
      .spyOn(console, 'log')
      .mockImplementation((line?: unknown) => void lines.push(String(line)));
    try {
      const program = new Command().exitOverride();
      registerTelemetryCommands(program);
      await program.parseAsync(
        [
          'telemetry',
          'histogram',
          '--device',
          'api-veh-1',
          '--vm',
          'RT_VM0',
          '--since',
          '2h',
          '--budget',
          '40',
          '--api',
          base,
          '--api-key',
          api.adminKey!,
        ],
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
    }
    const out = lines.join('\n');
    expect(out).toMatch(/^RT_VM0 on api-veh-1, .*: 60,058 latency observations in 58 minutes/);
    expect(out).toContain('max 45 µs');
    expect(out).toMatch(/\n {2}0–5 µs │█+ +51,436 +85\.6%/);
    expect(out).toMatch(/╌┼╌ budget 40 µs\n40–45 µs │ +0\n45–50 µs │▏ +3 +<0\.1%$/);
  });
});
