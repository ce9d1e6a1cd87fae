/**
 * GET /api/v1/ota over HTTP: the fleet API and the projector (which starts the update-progress runner
 * through CHANNEL_RUNNERS) in one Nest app on PostgreSQL. Versions come from real domain commands;
 * update stages from telemetry records published as the device gateway publishes them.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { sampleBoard, samplePlan } from '@hyperfleet/acrn';
import { decodeDeviceMessage, type DeviceMessageInputMap } from '@hyperfleet/contracts';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  ProvisionDevice,
  ReportBoardInventory,
  ReportHypervisorVersion,
  ReportServiceVmBooted,
  type CommandOutcome,
} from '@hyperfleet/domain';
import type { EventTransport } from '@hyperfleet/messaging';
import { EVENT_TRANSPORT, PG_POOL } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import { otaStatusProjection } from '@hyperfleet/read-models';
import { effectOf } from '../../../device-gateway/src/ingress/effects';
import { projected, until } from '../../../../libs/read-models/src/framework/testing';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

type Progress = DeviceMessageInputMap['update-progress']['payload'];

describe('GET /api/v1/ota (Nest app with the projector, PostgreSQL, telemetry channel)', () => {
  let api: ApiHarness;
  let app: INestApplication;
  let pool: Pool;

  // Status and body only (the harness also returns the headers), so answers compare as a whole.
  const get = async (url: string) => {
    const { status, body } = await api.get(url);
    return { status, body };
  };
  const run = (command: object): Promise<CommandOutcome> => app.get(CommandBus).execute(command as never);
  const at = (minute: number) => new Date(Date.UTC(2026, 1, 3, 8, minute)).toISOString();

  async function progress(deviceId: string, seq: number, payload: Progress) {
    const message = { protocolVersion: 1, msgId: randomUUID(), epoch: 5, seq, sentAt: at(seq), payload };
    const decoded = decodeDeviceMessage(`hf/v1/${deviceId}/update-progress`, JSON.stringify(message), {
      authenticatedDeviceId: deviceId,
    });
    if (!decoded.ok) throw new Error(decoded.code);
    await app
      .get<EventTransport>(EVENT_TRANSPORT)
      .publish('telemetry', effectOf(decoded, { defaultLatencyBudgetUs: 100 }).telemetry);
  }
  const hypervisorTo = (version: string, stage: Progress['stage']): Progress => ({
    rolloutId: 'ro-acrn',
    target: { kind: 'hypervisor', version },
    fromVersion: 'acrn-3.2',
    stage,
    ...(stage === 'failed' ? { error: { code: 'VERIFICATION_FAILED', message: 'Bad signature.' } } : {}),
  });

  beforeAll(async () => {
    api = await startFleetApi('hf_api_ota', { projector: true });
    app = api.app;
    pool = app.get<Pool>(PG_POOL);

    await run(new CreatePartitionPlan({ planId: 'veh-plan', deviceClass: 'vehicle', plan: samplePlan() }));
    for (const [id, hv] of [
      ['veh-1', 'acrn-3.2'],
      ['veh-2', 'acrn-3.2'],
      ['veh-3', 'acrn-3.2'],
      ['veh-4', 'acrn-3.3'],
    ]) {
      await run(new ProvisionDevice({ deviceId: id, deviceClass: 'vehicle', site: 'depot-1' }));
      await run(new ReportBoardInventory({ deviceId: id, board: sampleBoard() }));
      await run(new ReportHypervisorVersion({ deviceId: id, version: hv, scenario: 'hybrid_rt', at: at(0) }));
      await run(new ReportServiceVmBooted({ deviceId: id, osImageVersion: 'svm-2025.01', at: at(1) }));
    }
    await run(new AssignPartitionPlan({ deviceId: 'veh-1', planId: 'veh-plan' }));
    await run(new ProvisionDevice({ deviceId: 'veh-idle', deviceClass: 'vehicle', site: 'depot-2' }));
    // The rollout to acrn-3.3: veh-1 installing, veh-2 failed, veh-3 downloading.
    await progress('veh-1', 3, hypervisorTo('acrn-3.3', 'downloading'));
    await progress('veh-1', 4, hypervisorTo('acrn-3.3', 'installing'));
    await progress('veh-2', 3, hypervisorTo('acrn-3.3', 'failed'));
    await progress('veh-3', 3, hypervisorTo('acrn-3.3', 'downloading'));

    await app.get(ProjectorService).waitUntilCaughtUp();
    await projected(pool, otaStatusProjection);
    await until('the update stages', async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM rm.ota_progress_seen`);
      return rows[0].n === 4;
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('GET /ota/devices/{id}: per artefact the reported and desired version and the update under way', async () => {
    const res = await get('/api/v1/ota/devices/veh-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deviceId: 'veh-1', deviceClass: 'vehicle', site: 'depot-1' });
    const byTarget = Object.fromEntries((res.body.targets as Body[]).map((t) => [t.target, t]));
    expect(Object.keys(byTarget)).toEqual(['hypervisor', 'partition-plan', 'service-vm-image']);
    expect(byTarget.hypervisor).toMatchObject({
      vmName: null,
      reportedVersion: 'acrn-3.2',
      desiredVersion: null,
      upToDate: null,
      update: {
        version: 'acrn-3.3',
        fromVersion: 'acrn-3.2',
        stage: 'installing',
        rolloutId: 'ro-acrn',
        error: null,
        reportedAt: at(4),
      },
    });
    expect(byTarget['partition-plan']).toMatchObject({
      reportedVersion: null,
      desiredVersion: 'veh-plan@1',
      desiredSource: 'PartitionPlanAssigned',
      upToDate: false,
      update: null,
    });
    expect(byTarget['service-vm-image']).toMatchObject({ reportedVersion: 'svm-2025.01', update: null });

    const failed = await get('/api/v1/ota/devices/veh-2');
    expect(failed.body.targets[0].update).toMatchObject({
      stage: 'failed',
      error: { code: 'VERIFICATION_FAILED', message: 'Bad signature.' },
    });
    // Provisioned, nothing reported yet: known, no artefacts.
    expect(await get('/api/v1/ota/devices/veh-idle')).toMatchObject({ status: 200, body: { targets: [] } });
  });

  it('GET /ota/devices/{id}: 404 DEVICE_NOT_FOUND for an unknown device, 400 for a malformed id', async () => {
    expect(await get('/api/v1/ota/devices/ghost')).toMatchObject({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND', details: { deviceId: 'ghost' } },
    });
    expect((await get('/api/v1/ota/devices/a%20b')).status).toBe(400);
  });

  it('GET /ota/versions?target=hypervisor: per version reported, desired, in progress, failed', async () => {
    const res = await get('/api/v1/ota/versions?target=hypervisor');
    expect(res).toEqual({
      status: 200,
      body: {
        target: 'hypervisor',
        versions: [
          { version: 'acrn-3.2', reported: 3, desired: 0, inProgress: 0, failed: 0 },
          { version: 'acrn-3.3', reported: 1, desired: 0, inProgress: 2, failed: 1 },
        ],
      },
    });
    expect((await get('/api/v1/ota/versions?target=partition-plan')).body.versions).toEqual([
      { version: 'veh-plan@1', reported: 0, desired: 1, inProgress: 0, failed: 0 },
    ]);
  });

  it.each([
    ['', 'target'],
    ['target=firmware', 'target'],
    ['target=hypervisor&version=1', 'version'],
  ])('GET /ota/versions?%s is 400 VALIDATION_FAILED naming %s', async (query, param) => {
    const res = await get(`/api/v1/ota/versions?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { part: 'query' } });
    expect(res.body.message).toContain(param);
  });

  it('GET /ota/devices?target=&version=&stage=: artefacts by version and stage', async () => {
    const ids = (b: Body) => (b.items as Body[]).map((i) => `${i.deviceId}/${i.target}`);
    const on33 = await get('/api/v1/ota/devices?target=hypervisor&version=acrn-3.3');
    expect(on33.status).toBe(200);
    // Reported (veh-4) or being updated to it (veh-1, veh-2, veh-3).
    expect(ids(on33.body)).toEqual([
      'veh-1/hypervisor',
      'veh-2/hypervisor',
      'veh-3/hypervisor',
      'veh-4/hypervisor',
    ]);
    expect(ids((await get('/api/v1/ota/devices?target=hypervisor&stage=failed')).body)).toEqual([
      'veh-2/hypervisor',
    ]);
    expect(ids((await get('/api/v1/ota/devices?version=acrn-3.3&stage=downloading')).body)).toEqual([
      'veh-3/hypervisor',
    ]);
    expect(ids((await get('/api/v1/ota/devices?target=service-vm-image')).body)).toHaveLength(4);
    expect(ids((await get('/api/v1/ota/devices?version=veh-plan@1')).body)).toEqual(['veh-1/partition-plan']);
  });

  it('GET /ota/devices pages by limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { status: number; body: Body } = await get(
        `/api/v1/ota/devices?target=hypervisor&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...(res.body.items as Body[]).map((i) => i.deviceId));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['veh-1', 'veh-2', 'veh-3', 'veh-4']);
  });

  it.each([
    ['stage=exploded', 'stage'],
    ['target=bios', 'target'],
    ['limit=-1', 'limit'],
    ['version=', 'version'],
  ])('GET /ota/devices?%s is 400 VALIDATION_FAILED naming %s', async (query, param) => {
    const res = await get(`/api/v1/ota/devices?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details.issues.map((i: Body) => i.path)).toEqual([param]);
  });

  it('a cursor the list did not issue is 400 INVALID_CURSOR, as on every list', async () => {
    const res = await get('/api/v1/ota/devices?cursor=%%%');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_CURSOR', details: { parameter: 'cursor' } });
  });

  it('documents the endpoints in OpenAPI', async () => {
    const doc = (await get('/docs-json')).body;
    const versions = doc.paths['/api/v1/ota/versions'].get;
    expect(versions.parameters).toEqual([
      expect.objectContaining({ name: 'target', in: 'query', required: true }),
    ]);
    expect(versions.parameters[0].schema.enum).toEqual([
      'hypervisor',
      'partition-plan',
      'service-vm-image',
      'rtvm-image',
    ]);
    const list = doc.paths['/api/v1/ota/devices'].get;
    expect(list.parameters.map((p: Body) => p.name)).toEqual([
      'target',
      'version',
      'stage',
      'limit',
      'cursor',
    ]);
    expect(Object.keys(doc.paths['/api/v1/ota/devices/{id}'].get.responses)).toEqual(
      expect.arrayContaining(['200', '400', '404']),
    );
  });
});
