/**
 * The scheduling-policy projection against real PostgreSQL: events produced by real domain commands
 * (CommandBus → PostgresEventStore), delivered by the PostgreSQL-log transport to a ProjectionRunner.
 */
import { CommandBus } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { modifyPlan, sampleBoard, samplePlan, smallBoard, vmNamed } from '@hyperfleet/acrn';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  ProvisionDevice,
  RegisterRtVm,
  ReportBoardInventory,
  ReportPartitionPlan,
  RevisePartitionPlan,
  UpdateDeviceLabels,
  type CommandOutcome,
} from '@hyperfleet/domain';
import { LOG_START, readAllWith } from '@hyperfleet/event-store';
import { PostgresLogTransport } from '@hyperfleet/messaging';
import { applyBatch } from '../framework/apply';
import { DeadLetters } from '../framework/dead-letters';
import { fromRecorded } from '../framework/events';
import { rebuildProjection } from '../framework/rebuild';
import { ProjectionRunner } from '../framework/runner';
import { schedulingPolicyProjection } from './scheduling.projection';
import { logVisible, projected } from '../framework/testing';
import { startReadModelBed, type ReadModelBed } from '../../test/read-model-bed';

// Rows are read loosely in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

describe('scheduling-policy projection (real PostgreSQL, PostgreSQL-log transport, domain commands)', () => {
  let bed: ReadModelBed;
  let pool: Pool;
  let transport: PostgresLogTransport;
  let bus: CommandBus;
  let runner: ProjectionRunner;
  const run = (command: object): Promise<CommandOutcome> => bus.execute(command as never);
  const settle = async () => {
    await runner.waitUntilCaughtUp(30_000);
    await projected(pool, schedulingPolicyProjection);
  };

  const PLAN = 'ipc-hybrid-rt';
  /** Revision 2: HMI_VM moves from pCPUs 1-2 to 5-6. */
  const revision2 = () =>
    modifyPlan(samplePlan(), (p) => {
      vmNamed(p, 'HMI_VM').cpuAffinity = [
        { pcpuId: 5, realTimeVcpu: false },
        { pcpuId: 6, realTimeVcpu: false },
      ];
    });

  const device = async (id: string): Promise<Row> =>
    (await pool.query(`SELECT * FROM rm.sched_devices WHERE device_id = $1`, [id])).rows[0];
  const pcpus = async (id: string, source: string): Promise<Row[]> =>
    (
      await pool.query(`SELECT * FROM rm.sched_pcpus WHERE device_id = $1 AND source = $2 ORDER BY pcpu_id`, [
        id,
        source,
      ])
    ).rows;
  const vms = async (id: string, source: string): Promise<Record<string, Row>> =>
    Object.fromEntries(
      (
        await pool.query(`SELECT * FROM rm.sched_vms WHERE device_id = $1 AND source = $2`, [id, source])
      ).rows.map((r) => [r.vm_name, r]),
    );

  /** A provisioned industrial PC with the sample board, the plan assigned (and reported, if asked). */
  async function deviceOnPlan(id: string, opts: { reported?: number | null; site?: string } = {}) {
    await run(
      new ProvisionDevice({ deviceId: id, deviceClass: 'industrial-pc', site: opts.site ?? 'plant-1' }),
    );
    await run(new ReportBoardInventory({ deviceId: id, board: sampleBoard() }));
    await run(new AssignPartitionPlan({ deviceId: id, planId: PLAN, revision: 1 }));
    const reported = opts.reported === undefined ? 1 : opts.reported;
    if (reported !== null)
      await run(new ReportPartitionPlan({ deviceId: id, planId: PLAN, revision: reported }));
  }

  beforeAll(async () => {
    bed = await startReadModelBed('hf_rm_sched');
    ({ pool, transport, bus } = bed);
    runner = new ProjectionRunner(schedulingPolicyProjection, {
      pool,
      transport,
      deadLetters: new DeadLetters(pool, transport),
    });
    await runner.start();
    await run(
      new CreatePartitionPlan({
        planId: PLAN,
        deviceClass: 'industrial-pc',
        plan: samplePlan(),
        description: 'hybrid_rt for the TGL IPCs',
      }),
    );
  });

  afterAll(async () => {
    await runner?.stop();
    await bed?.close();
  });

  it('a plan assigned and reported in sync: no drift; who owns each pCPU, the CLOS of each vCPU, the RTVM pinned as planned', async () => {
    await deviceOnPlan('ipc-sync');
    await run(
      new RegisterRtVm({
        deviceId: 'ipc-sync',
        vmName: 'RT_VM0',
        loadOrder: 'PRE_LAUNCHED_VM',
        pinnedPcpus: [3, 7],
        latencyBudgetUs: 50,
        state: 'started',
      }),
    );
    await settle();

    expect(await device('ipc-sync')).toMatchObject({
      device_class: 'industrial-pc',
      site: 'plant-1',
      board_name: 'tgl-i7-1185gre',
      assigned_plan_id: PLAN,
      assigned_revision: 1,
      reported_plan_id: PLAN,
      reported_revision: 1,
      plan_status: 'in-sync',
      assigned_plan_known: true,
      reported_plan_known: true,
      drift: false,
      drift_reasons: [],
      error_count: 0,
      assigned_clos_needed: 2,
      clos_available: 4,
      pinning_mismatch: false,
      rt_pinning: [
        {
          vmName: 'RT_VM0',
          reportedPcpus: [3, 7],
          assignedPcpus: [3, 7],
          reportedPlanPcpus: [3, 7],
          status: 'match',
        },
      ],
    });

    const owners = (await pcpus('ipc-sync', 'assigned')).map((p) => [p.pcpu_id, p.vm_names, p.shared]);
    // The Service VM gets every pCPU the pre-launched RTVM does not name (ACRN's cpu_affinity allocator).
    expect(owners).toEqual([
      [0, ['ACRN_Service_VM'], false],
      [1, ['ACRN_Service_VM', 'HMI_VM'], true],
      [2, ['ACRN_Service_VM', 'HMI_VM'], true],
      [3, ['RT_VM0'], false],
      [4, ['ACRN_Service_VM'], false],
      [5, ['ACRN_Service_VM'], false],
      [6, ['ACRN_Service_VM'], false],
      [7, ['RT_VM0'], false],
    ]);
    const pcpu0 = (await pcpus('ipc-sync', 'assigned'))[0];
    expect(pcpu0.owners).toEqual([
      {
        vm: 'ACRN_Service_VM',
        vmId: 1,
        loadOrder: 'SERVICE_VM',
        vmType: 'STANDARD_VM',
        vcpu: 0,
        realTime: false,
        implicit: true,
      },
    ]);

    const assigned = await vms('ipc-sync', 'assigned');
    expect(assigned.ACRN_Service_VM).toMatchObject({ implicit_affinity: true, pcpus: [0, 1, 2, 4, 5, 6] });
    // RT_VM0's two vCPUs share one CLOS (same masks on L2 #3 and L3), everyone else the other.
    expect(assigned.RT_VM0.vcpus).toEqual([
      { vcpu: 0, pcpuId: 3, realTime: true, clos: 0, closMasks: { 'L2:3': '0xfffff', 'L3:0': '0x700' } },
      { vcpu: 1, pcpuId: 7, realTime: true, clos: 0, closMasks: { 'L2:3': '0xfffff', 'L3:0': '0x700' } },
    ]);
    expect(assigned.HMI_VM.vcpus.map((v: Row) => [v.pcpuId, v.clos])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    // In sync: the reported plan's allocation is the same.
    expect(await pcpus('ipc-sync', 'reported')).toEqual(
      (await pcpus('ipc-sync', 'assigned')).map((p) => ({ ...p, source: 'reported' })),
    );
  });

  it('a plan assigned and never reported is drift (PLAN_NOT_REPORTED)', async () => {
    await deviceOnPlan('ipc-fresh', { reported: null });
    await settle();
    expect(await device('ipc-fresh')).toMatchObject({
      plan_status: 'not-reported',
      drift: true,
      drift_reasons: ['PLAN_NOT_REPORTED'],
      reported_plan_id: null,
    });
    expect(await pcpus('ipc-fresh', 'reported')).toEqual([]);
    expect(await pcpus('ipc-fresh', 'assigned')).toHaveLength(8);
  });

  it('a new revision assigned and not yet reported is drift (PLAN_MISMATCH) with both allocations; reporting it ends the drift', async () => {
    await deviceOnPlan('ipc-rev');
    await settle();
    expect((await device('ipc-rev')).drift).toBe(false);

    await run(new RevisePartitionPlan({ planId: PLAN, basedOnRevision: 1, plan: revision2() }));
    await run(new AssignPartitionPlan({ deviceId: 'ipc-rev', planId: PLAN, revision: 2 }));
    await settle();
    expect(await device('ipc-rev')).toMatchObject({
      assigned_revision: 2,
      reported_revision: 1,
      plan_status: 'mismatch',
      drift: true,
      drift_reasons: ['PLAN_MISMATCH'],
      error_count: 0,
    });
    expect((await vms('ipc-rev', 'assigned')).HMI_VM.pcpus).toEqual([5, 6]);
    expect((await vms('ipc-rev', 'reported')).HMI_VM.pcpus).toEqual([1, 2]);
    const shared = async (source: string) =>
      (await pcpus('ipc-rev', source)).filter((p) => p.shared).map((p) => p.pcpu_id);
    expect(await shared('assigned')).toEqual([5, 6]);
    expect(await shared('reported')).toEqual([1, 2]);

    await run(new ReportPartitionPlan({ deviceId: 'ipc-rev', planId: PLAN, revision: 2 }));
    await settle();
    expect(await device('ipc-rev')).toMatchObject({
      plan_status: 'in-sync',
      drift: false,
      drift_reasons: [],
    });
    expect((await vms('ipc-rev', 'reported')).HMI_VM.pcpus).toEqual([5, 6]);
  });

  it('a board replaced by a smaller one: the assigned plan stops fitting; its violations are drift though the plan is in sync', async () => {
    await deviceOnPlan('ipc-shrunk');
    await settle();
    expect((await device('ipc-shrunk')).drift).toBe(false);

    await run(new ReportBoardInventory({ deviceId: 'ipc-shrunk', board: smallBoard() }));
    await settle();
    const d = await device('ipc-shrunk');
    expect(d).toMatchObject({
      board_name: 'small-2c4t',
      plan_status: 'in-sync',
      drift: true,
      drift_reasons: ['PLAN_VIOLATIONS'],
      clos_available: 2,
    });
    expect(d.error_count).toBeGreaterThan(0);
    const codes = (d.violations as Row[]).filter((v) => v.severity === 'error').map((v) => v.code);
    expect(codes).toEqual(expect.arrayContaining(['PCPU_OUTSIDE_PLATFORM', 'CACHE_NOT_ON_BOARD']));
    // RT_VM0's pCPU 7 is not on the new board; the Service VM shrank to what the board has.
    const p = await pcpus('ipc-shrunk', 'assigned');
    expect(p.map((x) => [x.pcpu_id, x.on_board])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, true],
      [7, false],
    ]);
    expect((await vms('ipc-shrunk', 'assigned')).ACRN_Service_VM.pcpus).toEqual([0, 1, 2]);

    // Back on the sample board, the drift is gone.
    await run(new ReportBoardInventory({ deviceId: 'ipc-shrunk', board: sampleBoard() }));
    await settle();
    expect(await device('ipc-shrunk')).toMatchObject({ drift: false, error_count: 0, violations: [] });
  });

  it('an RTVM pinned elsewhere than the plan says is a pinning mismatch, not drift; labels follow the device', async () => {
    await deviceOnPlan('ipc-pinned');
    await run(
      new RegisterRtVm({
        deviceId: 'ipc-pinned',
        vmName: 'RT_VM0',
        loadOrder: 'PRE_LAUNCHED_VM',
        pinnedPcpus: [2, 6],
        latencyBudgetUs: 50,
        state: 'started',
      }),
    );
    await run(new UpdateDeviceLabels({ deviceId: 'ipc-pinned', site: 'plant-9' }));
    await settle();
    expect(await device('ipc-pinned')).toMatchObject({
      site: 'plant-9',
      drift: false,
      pinning_mismatch: true,
      rt_pinning: [
        {
          vmName: 'RT_VM0',
          reportedPcpus: [2, 6],
          assignedPcpus: [3, 7],
          reportedPlanPcpus: [3, 7],
          status: 'mismatch',
        },
      ],
    });
    const pins = await pool.query(`SELECT * FROM rm.sched_rtvm_pinning WHERE device_id = 'ipc-pinned'`);
    expect(pins.rows).toMatchObject([
      { vm_name: 'RT_VM0', load_order: 'PRE_LAUNCHED_VM', pinned_pcpus: [2, 6] },
    ]);
  });

  it('a plan revision that arrives after the assignment naming it (another key, as on Kafka) derives the device then', async () => {
    const planId = 'ooo-plan';
    await run(new CreatePartitionPlan({ planId, deviceClass: 'industrial-pc', plan: samplePlan() }));
    await run(new ProvisionDevice({ deviceId: 'ipc-ooo', deviceClass: 'industrial-pc', site: 'plant-1' }));
    await run(new ReportBoardInventory({ deviceId: 'ipc-ooo', board: sampleBoard() }));
    await run(new AssignPartitionPlan({ deviceId: 'ipc-ooo', planId, revision: 1 }));
    await run(new ReportPartitionPlan({ deviceId: 'ipc-ooo', planId, revision: 1 }));
    await logVisible(pool);
    const all = (await readAllWith(pool, { after: LOG_START, batchSize: 100_000 })).events.map(fromRecorded);
    const deviceEvents = all.filter((e) => e.streamId === 'hypervisor-ipc-ooo');
    const planEvents = all.filter((e) => e.streamId === `partition-plan-${planId}`);

    // Into private copies of the tables, device stream first, then the plan stream.
    const ctx = { table: (name: string) => `rm."${name}__ooo"` };
    for (const t of schedulingPolicyProjection.tables) {
      await pool.query(`CREATE TABLE ${ctx.table(t)} (LIKE rm."${t}" INCLUDING ALL)`);
    }
    const options = { ctx, positionsKey: 'scheduling-policy#ooo', lockName: 'scheduling-policy#ooo' };
    const row = async () => (await pool.query(`SELECT * FROM ${ctx.table('sched_devices')}`)).rows[0];
    await applyBatch(pool, schedulingPolicyProjection, deviceEvents, options);
    expect(await row()).toMatchObject({ plan_status: 'in-sync', assigned_plan_known: false, drift: false });
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${ctx.table('sched_pcpus')}`)).rows[0].n).toBe(
      0,
    );

    await applyBatch(pool, schedulingPolicyProjection, planEvents, options);
    expect(await row()).toMatchObject({
      plan_status: 'in-sync',
      assigned_plan_known: true,
      reported_plan_known: true,
      assigned_clos_needed: 2,
      drift: false,
    });
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${ctx.table('sched_pcpus')}`)).rows[0].n).toBe(
      16,
    );
    for (const t of schedulingPolicyProjection.tables) await pool.query(`DROP TABLE ${ctx.table(t)}`);
  });

  it('a rebuild from position 0 equals the live read model', async () => {
    await settle();
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const t of schedulingPolicyProjection.tables) {
        out[t] = (await pool.query(`SELECT to_jsonb(x) AS r FROM rm."${t}" x ORDER BY x::text`)).rows.map(
          (r) => r.r,
        );
      }
      return out;
    };
    await logVisible(pool); // or the rebuild could stop short of the head
    const live = await snapshot();
    expect(live.sched_devices.length).toBeGreaterThanOrEqual(6);
    const result = await rebuildProjection(pool, schedulingPolicyProjection, { batchSize: 7 });
    expect(result.applied).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(live);

    // And the live runner goes on after the swap.
    await run(new ReportPartitionPlan({ deviceId: 'ipc-fresh', planId: PLAN, revision: 1 }));
    await settle();
    expect(await device('ipc-fresh')).toMatchObject({ plan_status: 'in-sync', drift: false });
  });
});
