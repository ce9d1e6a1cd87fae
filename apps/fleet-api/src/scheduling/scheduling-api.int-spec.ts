/**
 * GET /api/v1/scheduling over HTTP: the fleet API and the projector in one Nest app on PostgreSQL,
 * devices driven by real domain commands through the app's CommandBus.
 */
import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { modifyBoard, sampleBoard, samplePlan, smallBoard } from '@hyperfleet/acrn';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  ProvisionDevice,
  ReportBoardInventory,
  ReportPartitionPlan,
  type CommandOutcome,
  type DeviceClass,
} from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import { schedulingPolicyProjection } from '@hyperfleet/read-models';
import { projected } from '../../../../libs/read-models/src/framework/testing';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

describe('GET /api/v1/scheduling (Nest app with the projector, PostgreSQL)', () => {
  let api: ApiHarness;
  let app: INestApplication;

  // Status and body only (the harness also returns the headers), so answers compare as a whole.
  const get = async (url: string) => {
    const { status, body } = await api.get(url);
    return { status, body };
  };
  const run = (command: object): Promise<CommandOutcome> => app.get(CommandBus).execute(command as never);
  const ids = (page: Body) => (page.items as Body[]).map((i) => i.deviceId);

  async function device(id: string, deviceClass: DeviceClass, site: string, reported: boolean) {
    const planId = deviceClass === 'vehicle' ? 'veh-plan' : 'ipc-plan';
    await run(new ProvisionDevice({ deviceId: id, deviceClass, site }));
    await run(new ReportBoardInventory({ deviceId: id, board: sampleBoard() }));
    await run(new AssignPartitionPlan({ deviceId: id, planId }));
    if (reported) await run(new ReportPartitionPlan({ deviceId: id, planId, revision: 1 }));
  }

  beforeAll(async () => {
    api = await startFleetApi('hf_api_sched', { projector: true });
    app = api.app;

    await run(
      new CreatePartitionPlan({ planId: 'ipc-plan', deviceClass: 'industrial-pc', plan: samplePlan() }),
    );
    await run(new CreatePartitionPlan({ planId: 'veh-plan', deviceClass: 'vehicle', plan: samplePlan() }));
    await device('ipc-a', 'industrial-pc', 'plant-1', true);
    await device('ipc-b', 'industrial-pc', 'plant-1', false);
    await device('ipc-c', 'industrial-pc', 'plant-2', false);
    await device('veh-a', 'vehicle', 'depot-1', false);
    await device('veh-b', 'vehicle', 'depot-1', true);
    // veh-b's board was swapped for a smaller one: its plan no longer fits.
    await run(
      new ReportBoardInventory({
        deviceId: 'veh-b',
        board: modifyBoard(smallBoard(), (b) => (b.name = 'small')),
      }),
    );
    await app.get(ProjectorService).waitUntilCaughtUp();
    await projected(app.get<Pool>(PG_POOL), schedulingPolicyProjection);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('GET /scheduling/devices/{id}: allocation of the assigned and the reported plan, violations, drift', async () => {
    const res = await get('/api/v1/scheduling/devices/ipc-a');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      deviceId: 'ipc-a',
      deviceClass: 'industrial-pc',
      site: 'plant-1',
      board: { name: 'tgl-i7-1185gre', pcpus: 8 },
      assigned: { planId: 'ipc-plan', revision: 1, planKnown: true },
      reported: { planId: 'ipc-plan', revision: 1, planKnown: true },
      planStatus: 'in-sync',
      drift: false,
      driftReasons: [],
      errorCount: 0,
      pinningMismatch: false,
    });
    const assigned = res.body.allocation.assigned;
    expect(assigned).toMatchObject({ closNeeded: 2, closAvailable: 4 });
    expect(assigned.pcpus.map((p: Body) => [p.pcpuId, p.vms])).toEqual([
      [0, ['ACRN_Service_VM']],
      [1, ['ACRN_Service_VM', 'HMI_VM']],
      [2, ['ACRN_Service_VM', 'HMI_VM']],
      [3, ['RT_VM0']],
      [4, ['ACRN_Service_VM']],
      [5, ['ACRN_Service_VM']],
      [6, ['ACRN_Service_VM']],
      [7, ['RT_VM0']],
    ]);
    expect(assigned.vms.map((v: Body) => v.vm)).toEqual(['RT_VM0', 'ACRN_Service_VM', 'HMI_VM']);
    expect(assigned.vms[0].vcpus.map((v: Body) => v.clos)).toEqual([0, 0]);
    expect(res.body.allocation.reported).toEqual(assigned);

    const shrunk = await get('/api/v1/scheduling/devices/veh-b');
    expect(shrunk.body).toMatchObject({
      drift: true,
      driftReasons: ['PLAN_VIOLATIONS'],
      planStatus: 'in-sync',
    });
    expect(shrunk.body.errorCount).toBeGreaterThan(0);
    expect(shrunk.body.violations[0]).toMatchObject({ severity: 'error', code: expect.any(String) });

    const fresh = await get('/api/v1/scheduling/devices/ipc-b');
    expect(fresh.body).toMatchObject({ reported: null, planStatus: 'not-reported', drift: true });
    expect(fresh.body.allocation.reported).toBeNull();
  });

  it('GET /scheduling/devices/{id}: 404 DEVICE_NOT_FOUND for an unknown device, 400 for a malformed id', async () => {
    expect(await get('/api/v1/scheduling/devices/ghost')).toEqual({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND', message: expect.any(String), details: { deviceId: 'ghost' } },
    });
    expect(await get('/api/v1/scheduling/devices/%2Bx')).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', details: { part: 'path' } },
    });
  });

  it('GET /scheduling/drift: devices in drift, filtered by class and site', async () => {
    const all = await get('/api/v1/scheduling/drift');
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(['ipc-b', 'ipc-c', 'veh-a', 'veh-b']);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items[0]).toMatchObject({
      deviceId: 'ipc-b',
      deviceClass: 'industrial-pc',
      site: 'plant-1',
      planStatus: 'not-reported',
      driftReasons: ['PLAN_NOT_REPORTED'],
      assigned: { planId: 'ipc-plan', revision: 1 },
      reported: null,
    });
    expect(ids((await get('/api/v1/scheduling/drift?class=vehicle')).body)).toEqual(['veh-a', 'veh-b']);
    expect(ids((await get('/api/v1/scheduling/drift?class=industrial-pc&site=plant-2')).body)).toEqual([
      'ipc-c',
    ]);
    expect(ids((await get('/api/v1/scheduling/drift?site=nowhere')).body)).toEqual([]);
  });

  it('GET /scheduling/drift: pages by limit and cursor', async () => {
    const first = await get('/api/v1/scheduling/drift?limit=3');
    expect(ids(first.body)).toEqual(['ipc-b', 'ipc-c', 'veh-a']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await get(`/api/v1/scheduling/drift?limit=3&cursor=${first.body.nextCursor}`);
    expect(ids(second.body)).toEqual(['veh-b']);
    expect(second.body.nextCursor).toBeNull();
    const filtered = await get('/api/v1/scheduling/drift?class=vehicle&limit=1');
    const next = await get(
      `/api/v1/scheduling/drift?class=vehicle&limit=1&cursor=${filtered.body.nextCursor}`,
    );
    expect([...ids(filtered.body), ...ids(next.body)]).toEqual(['veh-a', 'veh-b']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=501', 'limit'],
    ['class=tractor', 'class'],
    ['site=', 'site'],
  ])('GET /scheduling/drift?%s is 400 VALIDATION_FAILED naming %s', async (query, param) => {
    const res = await get(`/api/v1/scheduling/drift?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { part: 'query' } });
    expect(res.body.details.issues.map((i: Body) => i.path)).toEqual([param]);
    expect(res.body.message).toContain(param);
  });

  it('a cursor the list did not issue is 400 INVALID_CURSOR, as on every list', async () => {
    const res = await get('/api/v1/scheduling/drift?cursor=not-a-cursor');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_CURSOR', details: { parameter: 'cursor' } });
  });

  it('an unknown query parameter is 400 VALIDATION_FAILED naming it', async () => {
    const res = await get('/api/v1/scheduling/drift?clas=vehicle');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('clas');
  });

  it('documents the endpoints and their parameters in OpenAPI', async () => {
    const doc = (await get('/docs-json')).body;
    const drift = doc.paths['/api/v1/scheduling/drift'].get;
    expect(drift.parameters.map((p: Body) => [p.name, p.in])).toEqual([
      ['class', 'query'],
      ['site', 'query'],
      ['limit', 'query'],
      ['cursor', 'query'],
    ]);
    expect(drift.parameters[0].schema.enum).toEqual(['vehicle', 'industrial-pc']);
    expect(Object.keys(drift.responses)).toEqual(expect.arrayContaining(['200', '400']));
    const one = doc.paths['/api/v1/scheduling/devices/{id}'].get;
    expect(Object.keys(one.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    expect(one.responses['200'].content['application/json'].schema.properties.driftReasons).toBeDefined();
  });
});
