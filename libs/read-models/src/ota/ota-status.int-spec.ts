/**
 * The OTA-status read model against real PostgreSQL: versions from events of real domain commands
 * (projection `ota-status`), and update stages from update-progress records that travel the
 * PostgreSQL-log transport's telemetry channel exactly as the device gateway publishes them.
 */
import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { sampleBoard, samplePlan } from '@hyperfleet/acrn';
import { decodeDeviceMessage, type DeviceMessageInputMap } from '@hyperfleet/contracts';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  DeleteRtVm,
  ProvisionDevice,
  RegisterRtVm,
  ReportBoardInventory,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  ReportServiceVmBooted,
  type CommandOutcome,
} from '@hyperfleet/domain';
import { PostgresLogTransport, type Delivery } from '@hyperfleet/messaging';
import { effectOf } from '../../../../apps/device-gateway/src/ingress/effects';
import { DeadLetters } from '../framework/dead-letters';
import { rebuildProjection } from '../framework/rebuild';
import { ProjectionRunner } from '../framework/runner';
import { CHANNEL_RUNNERS } from '../registry';
import { logVisible, projected, until } from '../framework/testing';
import { otaStatusProjection } from './ota-status.projection';
import { OTA_PROGRESS_GROUP, OtaProgressRunner, UPDATE_PROGRESS_RECORD_TYPE } from './progress-runner';
import { startReadModelBed, type ReadModelBed } from '../../test/read-model-bed';

// Rows are read loosely in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;
type Progress = DeviceMessageInputMap['update-progress']['payload'];

describe('ota-status read model (real PostgreSQL, PostgreSQL-log transport, domain commands, gateway records)', () => {
  let bed: ReadModelBed;
  let pool: Pool;
  let transport: PostgresLogTransport;
  let bus: CommandBus;
  let runner: ProjectionRunner;
  let progress: OtaProgressRunner;
  const run = (command: object): Promise<CommandOutcome> => bus.execute(command as never);
  const settle = async () => {
    await runner.waitUntilCaughtUp(30_000);
    await projected(pool, otaStatusProjection);
  };
  const at = (minute: number) => new Date(Date.UTC(2026, 1, 3, 8, minute)).toISOString();

  /** What the gateway does with an accepted update-progress message: a record on the telemetry channel. */
  async function publishProgress(
    deviceId: string,
    epoch: number,
    seq: number,
    payload: Progress,
    msgId?: string,
  ) {
    const message: DeviceMessageInputMap['update-progress'] = {
      protocolVersion: 1,
      msgId: msgId ?? randomUUID(),
      epoch,
      seq,
      sentAt: at(seq),
      payload,
    };
    const decoded = decodeDeviceMessage(`hf/v1/${deviceId}/update-progress`, JSON.stringify(message), {
      authenticatedDeviceId: deviceId,
    });
    if (!decoded.ok)
      throw new Error(`not a valid message: ${decoded.code} ${JSON.stringify(decoded.details)}`);
    const { telemetry } = effectOf(decoded, { defaultLatencyBudgetUs: 100 });
    expect(telemetry.map((r) => r.event.type)).toEqual([UPDATE_PROGRESS_RECORD_TYPE]);
    await transport.publish('telemetry', telemetry);
    return message;
  }

  const seen = async () =>
    (await pool.query(`SELECT count(*)::int AS n FROM rm.ota_progress_seen`)).rows[0].n;
  const progressRow = async (deviceId: string, kind: string, vmName = ''): Promise<Row | undefined> =>
    (
      await pool.query(
        `SELECT * FROM rm.ota_update_progress WHERE device_id = $1 AND target_kind = $2 AND vm_name = $3`,
        [deviceId, kind, vmName],
      )
    ).rows[0];
  const targets = async (deviceId: string) =>
    (
      await pool.query(
        `SELECT target_kind, vm_name, reported_version, desired_version, desired_source
           FROM rm.ota_targets WHERE device_id = $1 ORDER BY target_kind, vm_name`,
        [deviceId],
      )
    ).rows;
  const counts = async (kind: string) =>
    (
      await pool.query(
        `SELECT version, reported, desired FROM rm.ota_version_counts WHERE target_kind = $1 ORDER BY version`,
        [kind],
      )
    ).rows;

  beforeAll(async () => {
    bed = await startReadModelBed('hf_rm_ota');
    ({ pool, transport, bus } = bed);
    runner = new ProjectionRunner(otaStatusProjection, {
      pool,
      transport,
      deadLetters: new DeadLetters(pool),
    });
    await runner.start();
    progress = new OtaProgressRunner({ pool, transport });
    await progress.start();
  });

  afterAll(async () => {
    await progress?.stop();
    await runner?.stop();
    await bed?.close();
  });

  it('versions reported and desired per device and artefact, and devices per (artefact, version)', async () => {
    await run(new CreatePartitionPlan({ planId: 'veh-plan', deviceClass: 'vehicle', plan: samplePlan() }));
    for (const id of ['veh-1', 'veh-2']) {
      await run(new ProvisionDevice({ deviceId: id, deviceClass: 'vehicle', site: 'depot-1' }));
      await run(new ReportBoardInventory({ deviceId: id, board: sampleBoard() }));
      await run(
        new ReportHypervisorVersion({ deviceId: id, version: 'acrn-3.2', scenario: 'hybrid_rt', at: at(0) }),
      );
      await run(new ReportServiceVmBooted({ deviceId: id, osImageVersion: 'svm-2025.01', at: at(1) }));
      await run(new AssignPartitionPlan({ deviceId: id, planId: 'veh-plan' }));
    }
    // veh-1 booted a new Service VM image (ServiceVmOsImageChanged) and runs the assigned plan.
    await run(new ReportServiceVmBooted({ deviceId: 'veh-1', osImageVersion: 'svm-2025.02', at: at(30) }));
    await run(new ReportPartitionPlan({ deviceId: 'veh-1', planId: 'veh-plan', revision: 1 }));
    await run(
      new RegisterRtVm({
        deviceId: 'veh-1',
        vmName: 'RT_VM0',
        loadOrder: 'PRE_LAUNCHED_VM',
        pinnedPcpus: [3, 7],
        latencyBudgetUs: 50,
        state: 'started',
      }),
    );
    await settle();

    expect(await targets('veh-1')).toEqual([
      {
        target_kind: 'hypervisor',
        vm_name: '',
        reported_version: 'acrn-3.2',
        desired_version: null,
        desired_source: null,
      },
      {
        target_kind: 'partition-plan',
        vm_name: '',
        reported_version: 'veh-plan@1',
        desired_version: 'veh-plan@1',
        desired_source: 'PartitionPlanAssigned',
      },
      // No event carries an RT VM's image yet: the artefact is known, its version is not.
      {
        target_kind: 'rtvm-image',
        vm_name: 'RT_VM0',
        reported_version: null,
        desired_version: null,
        desired_source: null,
      },
      {
        target_kind: 'service-vm-image',
        vm_name: '',
        reported_version: 'svm-2025.02',
        desired_version: null,
        desired_source: null,
      },
    ]);
    expect(await counts('hypervisor')).toEqual([{ version: 'acrn-3.2', reported: 2, desired: 0 }]);
    expect(await counts('service-vm-image')).toEqual([
      { version: 'svm-2025.01', reported: 1, desired: 0 },
      { version: 'svm-2025.02', reported: 1, desired: 0 },
    ]);
    expect(await counts('partition-plan')).toEqual([{ version: 'veh-plan@1', reported: 1, desired: 2 }]);
    const dev = await pool.query(`SELECT device_class, site FROM rm.ota_devices WHERE device_id = 'veh-2'`);
    expect(dev.rows).toEqual([{ device_class: 'vehicle', site: 'depot-1' }]);

    // An update takes effect on veh-2: the counts move with it.
    await run(
      new ReportHypervisorVersion({
        deviceId: 'veh-2',
        version: 'acrn-3.3',
        scenario: 'hybrid_rt',
        at: at(40),
      }),
    );
    await settle();
    expect(await counts('hypervisor')).toEqual([
      { version: 'acrn-3.2', reported: 1, desired: 0 },
      { version: 'acrn-3.3', reported: 1, desired: 0 },
    ]);
  });

  it('a deleted RT VM takes its image artefact with it', async () => {
    await run(new ProvisionDevice({ deviceId: 'veh-3', deviceClass: 'vehicle', site: 'depot-2' }));
    await run(
      new RegisterRtVm({
        deviceId: 'veh-3',
        vmName: 'RT_POST',
        loadOrder: 'POST_LAUNCHED_VM',
        pinnedPcpus: [2],
        latencyBudgetUs: 80,
        state: 'stopped',
      }),
    );
    await settle();
    expect((await targets('veh-3')).map((t) => [t.target_kind, t.vm_name])).toEqual([
      ['rtvm-image', 'RT_POST'],
    ]);
    await run(new DeleteRtVm({ deviceId: 'veh-3', vmName: 'RT_POST' }));
    await settle();
    expect(await targets('veh-3')).toEqual([]);
  });

  it('update-progress records from the telemetry channel set the stage; redelivered and older records change nothing', async () => {
    const base = await seen();
    const hv = (stage: Progress['stage'], extra: Partial<Progress> = {}): Progress => ({
      rolloutId: 'ro-acrn-3.3',
      desiredVersion: 4,
      target: { kind: 'hypervisor', version: 'acrn-3.3' },
      fromVersion: 'acrn-3.2',
      stage,
      ...extra,
    });
    await publishProgress('veh-1', 7, 3, hv('downloading', { percent: 40 }));
    const verifying = await publishProgress('veh-1', 7, 4, hv('verifying'));
    await publishProgress('veh-1', 7, 5, hv('installing', { percent: 10 }));
    await publishProgress('veh-2', 3, 9, {
      rolloutId: 'ro-svm',
      target: { kind: 'service-vm-image', version: 'svm-2025.02' },
      fromVersion: 'svm-2025.01',
      stage: 'failed',
      error: { code: 'DOWNLOAD_FAILED', message: 'HTTP 503 from the artefact store.' },
    });
    await publishProgress('veh-1', 7, 6, {
      rolloutId: 'ro-rt',
      target: { kind: 'rtvm-image', vmName: 'RT_VM0', version: 'rt-6.6.30' },
      stage: 'downloading',
    });
    await until('five records', async () => (await seen()) === base + 5);

    expect(await progressRow('veh-1', 'hypervisor')).toMatchObject({
      version: 'acrn-3.3',
      from_version: 'acrn-3.2',
      stage: 'installing',
      percent: 10,
      rollout_id: 'ro-acrn-3.3',
      desired_state_version: 4,
      epoch: '7',
      seq: '5',
      error_code: null,
    });
    expect(await progressRow('veh-2', 'service-vm-image')).toMatchObject({
      stage: 'failed',
      error_code: 'DOWNLOAD_FAILED',
      error_message: 'HTTP 503 from the artefact store.',
    });
    expect(await progressRow('veh-1', 'rtvm-image', 'RT_VM0')).toMatchObject({ stage: 'downloading' });
    const before = await progressRow('veh-1', 'hypervisor');

    // The same batch delivered again (a crash before the transport stored the group's progress).
    const captured: Delivery[] = [];
    const sub = await transport.subscribe({
      group: `capture-${randomUUID()}`,
      channel: 'telemetry',
      handle: async (b) => void captured.push(...b),
    });
    await until('the records captured', async () => captured.length >= 5);
    await sub.stop();
    expect(await progress.handle(captured)).toBe(0);

    // The gateway publishing a message again (same msgId, epoch and seq), and a late older stage.
    await publishProgress('veh-1', verifying.epoch, verifying.seq, verifying.payload, verifying.msgId);
    await publishProgress('veh-1', 7, 2, hv('downloading', { percent: 5 }));
    await until('the older record seen', async () => (await seen()) === base + 6);
    await progress.waitUntilCaughtUp();
    expect(await progressRow('veh-1', 'hypervisor')).toEqual(before);

    // The next epoch (after the reboot): activated.
    await publishProgress('veh-1', 8, 1, hv('activated'));
    await until('activated', async () => (await progressRow('veh-1', 'hypervisor'))?.stage === 'activated');
  });

  it('the projector starts the progress runner through CHANNEL_RUNNERS, in its own consumer group', async () => {
    const made = CHANNEL_RUNNERS.map((make) => make({ pool, transport }));
    expect(made.map((r) => r.name)).toContain('ota-status.progress');
    expect(OTA_PROGRESS_GROUP).toBe('projector.ota-status.progress');
  });

  it('a rebuild of ota-status equals the live tables and leaves the update stages alone', async () => {
    await settle();
    await logVisible(pool);
    const snapshot = async (tables: readonly string[]) => {
      const out: Record<string, unknown[]> = {};
      for (const t of tables) {
        out[t] = (await pool.query(`SELECT to_jsonb(x) AS r FROM rm."${t}" x ORDER BY x::text`)).rows.map(
          (r) => r.r,
        );
      }
      return out;
    };
    const live = await snapshot(otaStatusProjection.tables);
    const stages = await snapshot(['ota_update_progress', 'ota_progress_seen']);
    await rebuildProjection(pool, otaStatusProjection, { batchSize: 5 });
    expect(await snapshot(otaStatusProjection.tables)).toEqual(live);
    expect(await snapshot(['ota_update_progress', 'ota_progress_seen'])).toEqual(stages);
  });
});
