import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ChangeRtVmLatencyBudget,
  MarkDeviceOffline,
  MarkDeviceOnline,
  RegisterRtVm,
  RegisterVm,
  ReportHypervisorVersion,
  ReportRtVmLatency,
  ReportServiceVmBooted,
  ReportVmState,
  StartRtVm,
  StopRtVm,
} from '@hyperfleet/domain';
import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import { Command } from 'commander';
import { registerVmCommands } from '../../../fleetctl/src/commands/vm';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

describe('fleet read API over HTTP (Nest app, PostgreSQL, projector running)', () => {
  let api: ApiHarness;
  let app: INestApplication;
  let base: string;
  let bus: CommandBus;

  // Status and body only (the harness also returns the headers), so answers compare as a whole.
  const get = async (url: string) => {
    const { status, body } = await api.get(url);
    return { status, body };
  };
  const run = (command: object) => bus.execute(command as never);
  const provision = async (deviceId: string, deviceClass: string, site: string, tags: string[] = []) => {
    const res = await fetch(`${base}/api/v1/devices`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId, deviceClass, site, tags }),
    });
    expect(res.status).toBe(201);
  };
  /**
   * The projector has read the whole log. waitUntilCaughtUp alone can return early on a shared server:
   * the log shows only events below the cluster's oldest open transaction, which may be anyone's. So
   * this also waits for the checkpoints of the two projections read here to reach the log's head.
   */
  const caughtUp = async () => {
    const pool = app.get<Pool>(PG_POOL);
    const groups = ['fleet-inventory', 'device-timeline'].map(
      (p) => `transport:device-events:projector.${p}`,
    );
    for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
      await app.get(ProjectorService).waitUntilCaughtUp();
      const { rows } = await pool.query<{ head: string; low: string | null }>(
        `SELECT (SELECT coalesce(max(global_position), 0) FROM hf.events) AS head,
                (SELECT min(global_position) FROM hf.checkpoints WHERE subscription_id = ANY($1)
                  HAVING count(*) = $2) AS low`,
        [groups, groups.length],
      );
      if (rows[0].low !== null && BigInt(rows[0].low) >= BigInt(rows[0].head)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the projector did not catch up in 90 s (a transaction open elsewhere on the server?)');
  };
  /** Every page of a listing, following nextCursor. */
  const allPages = async (url: string, limit: number, from: string | null = null) => {
    const pages: Body[] = [];
    let cursor = from;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const res = await get(`${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      pages.push(res.body);
      cursor = res.body.nextCursor;
    } while (cursor && pages.length < 100);
    return pages;
  };
  const ids = (body: Body) => (body.items as Body[]).map((d) => d.id);

  // The fleet: 24 vehicles, a few industrial PCs, and ids that test the prefix search.
  const vehicles = Array.from({ length: 24 }, (_, i) => `veh-${String(i).padStart(3, '0')}`);
  const ipcs = ['ipc:0042.a', 'ipc:0043.b', 'lab_1', 'labx1'];
  const everyone = [...vehicles, ...ipcs].sort();

  beforeAll(async () => {
    api = await startFleetApi('hf_fleet_query', { projector: true });
    ({ app, base } = api);
    bus = app.get(CommandBus);

    for (const [i, id] of vehicles.entries()) {
      await provision(id, 'vehicle', i % 2 ? 'depot-2' : 'depot-1', i % 3 ? ['eu'] : ['eu', 'pilot']);
      if (i % 4 !== 3) await run(new MarkDeviceOnline({ deviceId: id, at: at(i) }));
      await run(
        new ReportHypervisorVersion({ deviceId: id, version: i < 8 ? '3.2' : '3.3', scenario: 'hybrid_rt' }),
      );
      await run(
        new ReportServiceVmBooted({
          deviceId: id,
          osImageVersion: i % 2 ? '2026.02.1' : '2026.03.0',
          at: at(i),
        }),
      );
    }
    for (const id of ipcs) await provision(id, 'industrial-pc', 'plant-2', ['line=3']);
    await run(new MarkDeviceOnline({ deviceId: 'veh-003', at: at(100) })); // 3 is offline at first: now online
    await run(new MarkDeviceOffline({ deviceId: 'veh-000', at: at(101) }));

    // RT VMs on ipc:0042.a: one over budget, one within.
    const ipc = 'ipc:0042.a';
    for (const [vmName, pcpus] of [
      ['RT_CTRL', [2, 3]],
      ['RT_SAFE', [4]],
    ] as const) {
      await run(
        new RegisterRtVm({
          deviceId: ipc,
          vmName,
          loadOrder: 'POST_LAUNCHED_VM',
          pinnedPcpus: [...pcpus],
          latencyBudgetUs: 50,
        }),
      );
      await run(new StartRtVm({ deviceId: ipc, vmName }));
    }
    await run(new ReportRtVmLatency({ deviceId: ipc, vmName: 'RT_CTRL', worstCaseUs: 72, at: at(200) }));
    await run(new ReportRtVmLatency({ deviceId: ipc, vmName: 'RT_SAFE', worstCaseUs: 18.5, at: at(201) }));
    await run(new StopRtVm({ deviceId: ipc, vmName: 'RT_SAFE' }));
    // veh-005 was over budget once, and is not any more after a budget change.
    await run(
      new RegisterRtVm({
        deviceId: 'veh-005',
        vmName: 'RT_1',
        loadOrder: 'PRE_LAUNCHED_VM',
        pinnedPcpus: [1],
        latencyBudgetUs: 20,
      }),
    );
    await run(new ReportRtVmLatency({ deviceId: 'veh-005', vmName: 'RT_1', worstCaseUs: 25, at: at(300) }));
    await run(new ChangeRtVmLatencyBudget({ deviceId: 'veh-005', vmName: 'RT_1', budgetUs: 30 }));
    // veh-005's other VMs, as its birth announces them: a standard VM and the Service VM.
    const std = { deviceId: 'veh-005', vmType: 'STANDARD_VM' } as const;
    await run(
      new RegisterVm({
        ...std,
        vmName: 'HMI_VM',
        loadOrder: 'POST_LAUNCHED_VM',
        pcpus: [2],
        state: 'stopped',
      }),
    );
    await run(new ReportVmState({ deviceId: 'veh-005', vmName: 'HMI_VM', state: 'started', at: at(301) }));
    await run(new RegisterVm({ ...std, vmName: 'Service_VM', loadOrder: 'SERVICE_VM', pcpus: [] }));
    await caughtUp();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('GET /api/v1/devices lists every provisioned device by id, 50 to a page by default', async () => {
    const res = await get('/api/v1/devices');
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual(everyone);
    expect(res.body.nextCursor).toBeNull();
    const veh1 = res.body.items.find((d: Body) => d.id === 'veh-001');
    expect(veh1).toEqual({
      id: 'veh-001',
      class: 'vehicle',
      site: 'depot-2',
      tags: ['eu'],
      attributes: {},
      provisionedAt: expect.any(String),
      connectivity: {
        online: true,
        status: 'online',
        since: at(1),
        lastSeenAt: expect.any(String),
        wentOnlineAt: at(1),
        wentOfflineAt: null,
      },
      board: null,
      hypervisor: { version: '3.2', scenario: 'hybrid_rt', reportedAt: expect.any(String) },
      serviceVm: {
        osImageVersion: '2026.02.1',
        kernelVersion: null,
        bootedAt: at(1),
        boots: 1,
        lifecycle: 'running',
        lifecycleSince: at(1),
        previousOsImageVersion: null,
        osImageChangedAt: null,
        deviceModel: { health: null, since: null, detail: null },
      },
      partitionPlan: { desired: null, reported: null, inSync: false },
      rtVms: {
        count: 0,
        started: 0,
        overBudget: false,
        overBudgetCount: 0,
        worstCaseUs: null,
        latencyReportedAt: null,
        budgetBreaches: 0,
        tripleFaults: 0,
      },
      updatedAt: expect.any(String),
    });
  });

  it('filters by class, site, tags (all of them), versions, connectivity, budget and id prefix', async () => {
    const list = async (query: string) => {
      const res = await get(`/api/v1/devices?${query}`);
      expect(res.status).toBe(200);
      return ids(res.body);
    };
    expect(await list('class=industrial-pc')).toEqual(ipcs.slice().sort());
    expect(await list('site=depot-2&class=vehicle')).toEqual(vehicles.filter((_, i) => i % 2));
    expect(await list('tag=pilot')).toEqual(vehicles.filter((_, i) => i % 3 === 0));
    expect(await list('tag=eu&tag=pilot&site=depot-1')).toEqual(vehicles.filter((_, i) => i % 6 === 0));
    expect(await list('tag=eu&tag=line%3D3')).toEqual([]);
    expect(await list('hypervisorVersion=3.2')).toEqual(vehicles.slice(0, 8));
    expect(await list('serviceVmVersion=2026.03.0&hypervisorVersion=3.3')).toEqual(
      vehicles.filter((_, i) => i >= 8 && i % 2 === 0),
    );
    const online = vehicles.filter((_, i) => i !== 0 && (i % 4 !== 3 || i === 3));
    expect(await list('online=true')).toEqual(online);
    expect(await list('online=false')).toEqual(everyone.filter((id) => !online.includes(id)));
    expect(await list('overBudget=true')).toEqual(['ipc:0042.a']);
    expect(await list('overBudget=false')).toHaveLength(everyone.length - 1);
    expect(await list('q=veh-01')).toEqual(vehicles.slice(10, 20));
    expect(await list('q=ipc%3A0042')).toEqual(['ipc:0042.a']);
    // "_" is a literal, not LIKE's any-character.
    expect(await list('q=lab_')).toEqual(['lab_1']);
    expect(await list('q=zzz')).toEqual([]);
  });

  it('pages through the fleet with the cursor: every device exactly once, in order, also when filtered', async () => {
    const pages = await allPages('/api/v1/devices', 5);
    expect(pages).toHaveLength(Math.ceil(everyone.length / 5));
    expect(pages.flatMap(ids)).toEqual(everyone);
    expect(pages.slice(0, -1).every((p) => p.items.length === 5 && typeof p.nextCursor === 'string')).toBe(
      true,
    );
    expect(pages[pages.length - 1].nextCursor).toBeNull();

    const filtered = await allPages('/api/v1/devices?class=vehicle&tag=eu', 7);
    expect(filtered.flatMap(ids)).toEqual(vehicles);

    // A device provisioned mid-way shows up once, in its place.
    const first = await get('/api/v1/devices?limit=10');
    await provision('veh-0105', 'vehicle', 'depot-9');
    await caughtUp();
    const rest = await allPages('/api/v1/devices', 10, first.body.nextCursor);
    const seen = [...ids(first.body), ...rest.flatMap(ids)];
    expect(seen).toEqual([...everyone, 'veh-0105'].sort());
  });

  it('GET /api/v1/devices/{id} lists every VM with its vmType; only RTVMs count in rtVms', async () => {
    const res = await get('/api/v1/devices/veh-005');
    expect(res.body.rtVms).toMatchObject({ count: 1 });
    const byName = Object.fromEntries((res.body.vms as Body[]).map((v) => [v.name, v]));
    expect(Object.keys(byName).sort()).toEqual(['HMI_VM', 'RT_1', 'Service_VM']);
    expect(byName.RT_1).toMatchObject({ vmType: 'RTVM', loadOrder: 'PRE_LAUNCHED_VM', latencyBudgetUs: 30 });
    expect(byName.HMI_VM).toMatchObject({
      vmType: 'STANDARD_VM',
      loadOrder: 'POST_LAUNCHED_VM',
      state: 'started',
      pinnedPcpus: [2],
      latencyBudgetUs: null,
    });
    // The same through fleetctl.
    const program = new Command().exitOverride();
    registerVmCommands(program);
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      await program.parseAsync(
        ['vm', 'list', 'veh-005', '--api', api.base, ...(api.adminKey ? ['--api-key', api.adminKey] : [])],
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
      process.exitCode = undefined;
    }
    expect(out.map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual(
      expect.arrayContaining([
        'HMI_VM STANDARD_VM POST_LAUNCHED_VM started',
        'RT_1 RTVM PRE_LAUNCHED_VM started',
        'Service_VM STANDARD_VM SERVICE_VM untracked',
      ]),
    );
    expect(byName.Service_VM).toMatchObject({
      vmType: 'STANDARD_VM',
      loadOrder: 'SERVICE_VM',
      state: 'untracked',
    });
  });

  it('GET /api/v1/devices/{id} is the device with its RT VMs; unknown is 404 DEVICE_NOT_FOUND', async () => {
    const res = await get(`/api/v1/devices/${encodeURIComponent('ipc:0042.a')}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'ipc:0042.a',
      class: 'industrial-pc',
      site: 'plant-2',
      tags: ['line=3'],
      connectivity: { online: false, status: 'never-seen', lastSeenAt: at(201) },
      rtVms: {
        count: 2,
        started: 2,
        overBudget: true,
        overBudgetCount: 1,
        worstCaseUs: 72,
        latencyReportedAt: at(201),
        budgetBreaches: 1,
      },
    });
    expect(res.body.vms).toEqual([
      {
        name: 'RT_CTRL',
        vmType: 'RTVM',
        loadOrder: 'POST_LAUNCHED_VM',
        state: 'started',
        pendingOperation: null,
        pendingSince: null,
        pinnedPcpus: [2, 3],
        latencyBudgetUs: 50,
        lastWorstCaseUs: 72,
        lastLatencyAt: at(200),
        overBudget: true,
        budgetBreaches: 1,
        lastBreachAt: at(200),
        tripleFaults: 0,
        lastTripleFaultAt: null,
        registeredAt: expect.any(String),
      },
      expect.objectContaining({
        name: 'RT_SAFE',
        state: 'started',
        pendingOperation: 'stop',
        pendingSince: expect.any(String),
        lastWorstCaseUs: 18.5,
        overBudget: false,
      }),
    ]);
    // Unencoded ":" and "." in the path work too.
    expect((await get('/api/v1/devices/ipc:0043.b')).body).toMatchObject({ id: 'ipc:0043.b', vms: [] });
    expect((await get('/api/v1/devices/veh-005')).body.rtVms).toMatchObject({
      overBudget: false,
      budgetBreaches: 1,
      worstCaseUs: 25,
    });

    const missing = await get('/api/v1/devices/ghost-1');
    expect(missing).toEqual({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND', message: expect.any(String), details: { deviceId: 'ghost-1' } },
    });
    expect(await get('/api/v1/devices/%2Bx')).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', details: { part: 'path' } },
    });
    // The credentials route next to it is untouched.
    expect(await get('/api/v1/devices/veh-001/credentials')).toMatchObject({
      status: 200,
      body: { deviceId: 'veh-001', active: true },
    });
  });

  it('GET /api/v1/devices/{id}/timeline: newest first, paged, filtered by type and time', async () => {
    const id = encodeURIComponent('ipc:0042.a');
    const all = await get(`/api/v1/devices/${id}/timeline?limit=500`);
    expect(all.status).toBe(200);
    const types = (all.body.items as Body[]).map((e) => e.type);
    expect([...types].sort()).toEqual(
      [
        'DeviceProvisioned',
        'RtVmRegistered',
        'RtVmRegistered',
        'RtVmStarted',
        'RtVmStarted',
        'RtVmLatencyReported',
        'RtVmLatencyReported',
        'RtVmLatencyBudgetBreached',
        'RtVmStopRequested',
      ].sort(),
    );
    const times = (all.body.items as Body[]).map((e) => Date.parse(e.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.body.items[0]).toEqual({
      eventId: expect.any(String),
      type: expect.any(String),
      streamId: expect.stringMatching(/^(hypervisor|service-vm|rt-vm)-ipc:0042\.a/),
      streamPosition: expect.any(Number),
      logPosition: expect.stringMatching(/^\d+\/\d+$/),
      occurredAt: expect.any(String),
      data: expect.objectContaining({ deviceId: 'ipc:0042.a' }),
    });

    const pages = await allPages(`/api/v1/devices/${id}/timeline`, 4);
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 1]);
    expect(pages.flatMap((p) => p.items)).toEqual(all.body.items);

    const latency = await get(
      `/api/v1/devices/${id}/timeline?type=RtVmLatencyReported&type=RtVmLatencyBudgetBreached`,
    );
    expect((latency.body.items as Body[]).map((e) => [e.type, e.occurredAt])).toEqual([
      ['RtVmLatencyReported', at(201)],
      ['RtVmLatencyBudgetBreached', at(200)],
      ['RtVmLatencyReported', at(200)],
    ]);
    const window = await get(
      `/api/v1/devices/${id}/timeline?since=${at(200)}&until=${encodeURIComponent(at(201))}`,
    );
    expect((window.body.items as Body[]).map((e) => e.type).sort()).toEqual([
      'RtVmLatencyBudgetBreached',
      'RtVmLatencyReported',
    ]);
    // A known device with nothing in the window is an empty page, not a 404.
    expect(await get(`/api/v1/devices/veh-001/timeline?type=RtVmDeleted`)).toEqual({
      status: 200,
      body: { items: [], nextCursor: null },
    });
    expect(await get('/api/v1/devices/ghost-1/timeline')).toMatchObject({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND' },
    });
    // Ties at one microsecond-precise time: paged one by one, each event exactly once.
    const tick = '2026-03-01T09:00:00.123456Z';
    for (const worstCaseUs of [10, 60, 20, 70]) {
      await run(new ReportRtVmLatency({ deviceId: 'veh-005', vmName: 'RT_1', worstCaseUs, at: tick }));
    }
    await caughtUp();
    const ties = await allPages(
      `/api/v1/devices/veh-005/timeline?since=${tick}&until=2026-03-01T09:00:00.123457Z`,
      1,
    );
    // Newest first; at one time, the later stream position first (a breach follows its report).
    expect(ties.flatMap((p) => (p.items as Body[]).map((e) => [e.type, e.data.worstCaseUs]))).toEqual([
      ['RtVmLatencyBudgetBreached', 70],
      ['RtVmLatencyReported', 70],
      ['RtVmLatencyReported', 20],
      ['RtVmLatencyBudgetBreached', 60],
      ['RtVmLatencyReported', 60],
      ['RtVmLatencyReported', 10],
    ]);
    // A cursor belongs to its device.
    const other = await get(`/api/v1/devices/veh-001/timeline?cursor=${pages[0].nextCursor}`);
    expect(other).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
  });

  it('every bad parameter is 400 VALIDATION_FAILED naming it; a bad cursor is 400 INVALID_CURSOR', async () => {
    const bad = async (url: string, ...params: string[]) => {
      const res = await get(url);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { part: 'query' } });
      expect((res.body.details.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(
        params.sort(),
      );
      for (const p of params) expect(res.body.message).toContain(p);
      return res.body;
    };
    await bad('/api/v1/devices?limit=0', 'limit');
    await bad('/api/v1/devices?limit=501', 'limit');
    await bad('/api/v1/devices?limit=ten', 'limit');
    await bad('/api/v1/devices?limit=5&limit=6', 'limit');
    await bad('/api/v1/devices?class=tractor', 'class');
    await bad('/api/v1/devices?online=yes&overBudget=1', 'online', 'overBudget');
    await bad('/api/v1/devices?q=a%2Fb', 'q');
    await bad('/api/v1/devices?site=', 'site');
    await bad('/api/v1/devices?tag=', 'tag.0');
    expect((await bad('/api/v1/devices?onlne=true&sort=id', 'onlne', 'sort')).message).toContain(
      'not a parameter',
    );
    await bad('/api/v1/devices/veh-001/timeline?since=yesterday', 'since');
    await bad(`/api/v1/devices/veh-001/timeline?since=${at(10)}&until=${at(5)}`, 'until');
    await bad('/api/v1/devices/veh-001/timeline?type=not-a-type&limit=1000', 'type.0', 'limit');
    await bad('/api/v1/devices/veh-001/timeline?online=true', 'online');

    for (const cursor of ['%%%', 'bm90LWpzb24', Buffer.from('{"k":"devices"}').toString('base64url')]) {
      expect(await get(`/api/v1/devices?cursor=${cursor}`)).toMatchObject({
        status: 400,
        body: { code: 'INVALID_CURSOR', details: { parameter: 'cursor' } },
      });
    }
    const timelineCursor = (await get('/api/v1/devices/veh-001/timeline?limit=1')).body.nextCursor;
    expect(await get(`/api/v1/devices?cursor=${timelineCursor}`)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_CURSOR' },
    });
  });

  it('documents the endpoints and their parameters in the OpenAPI document', async () => {
    const doc = (await get('/docs-json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/devices', '/api/v1/devices/{id}', '/api/v1/devices/{id}/timeline']),
    );
    const list = doc.paths['/api/v1/devices'].get;
    expect(list.parameters.map((p: Body) => p.name)).toEqual(
      expect.arrayContaining([
        'class',
        'site',
        'tag',
        'hypervisorVersion',
        'serviceVmVersion',
        'online',
        'overBudget',
        'q',
        'limit',
        'cursor',
      ]),
    );
    expect(list.parameters.find((p: Body) => p.name === 'limit').schema).toMatchObject({ maximum: 500 });
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '400']));
    expect(list.responses['200'].content['application/json'].schema.properties).toHaveProperty('nextCursor');
    expect(Object.keys(doc.paths['/api/v1/devices/{id}'].get.responses)).toEqual(
      expect.arrayContaining(['200', '404']),
    );
    expect(doc.paths['/api/v1/devices/{id}/timeline'].get.parameters.map((p: Body) => p.name)).toEqual(
      expect.arrayContaining(['id', 'type', 'since', 'until', 'limit', 'cursor']),
    );
    // POST /api/v1/devices (provisioning) is still there next to the listing.
    expect(doc.paths['/api/v1/devices'].post).toBeDefined();
  });
});
