/**
 * The fleet-inventory projection against PostgreSQL: events made by the real domain commands (CommandBus
 * + DomainModule over PostgresEventStore), projected live in small batches, then checked row by row;
 * re-applied (deduped and forced) without change; and rebuilt from position 0 into the same rows.
 */
import { CommandBus } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { sampleBoard, samplePlan } from '@hyperfleet/acrn';
import {
  AssignPartitionPlan,
  ChangeRtVmLatencyBudget,
  CreatePartitionPlan,
  DeleteRtVm,
  MarkDeviceOffline,
  MarkDeviceOnline,
  ProvisionDevice,
  RecordRtVmPowerOff,
  RecordRtVmTripleFault,
  RegisterRtVm,
  ReportBoardInventory,
  ReportDeviceModelHealth,
  ReportHypervisorVersion,
  ReportPartitionPlan,
  ReportRtVmLatency,
  ReportRtVmState,
  ReportServiceVmBooted,
  ReportServiceVmShuttingDown,
  RequestServiceVmReboot,
  ResetRtVm,
  StartRtVm,
  StopRtVm,
  UpdateDeviceLabels,
  type Clock,
} from '@hyperfleet/domain';
import { LOG_START, readAllWith, type LogPosition } from '@hyperfleet/event-store';
import { applyBatch } from '../framework/apply';
import { fromRecorded } from '../framework/events';
import { wantsFilter, type ProjectedEvent } from '../framework/projection';
import { rebuildProjection } from '../framework/rebuild';
import { fleetInventoryProjection } from './inventory.projection';
import { startReadModelBed, type ReadModelBed } from '../../test/read-model-bed';

// Rows are compared loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const date = (s: number) => new Date(T0 + s * 1000);

describe('fleet-inventory projection (real PostgreSQL, real domain commands)', () => {
  let bed: ReadModelBed;
  let pool: Pool;
  let bus: CommandBus;
  let now = at(0);
  const clock: Clock = { now: () => now };
  let position: LogPosition = LOG_START;
  const wants = wantsFilter(fleetInventoryProjection);
  const seen: ProjectedEvent[] = [];

  const run = (command: object) => bus.execute(command as never);
  let readSoFar = 0;
  /**
   * What the live projector does: read what is new and apply it (in batches of `batchSize`), until
   * every event in the store was read. The log shows only events below the oldest transaction open
   * anywhere on the server, which on a shared server may be someone else's: so look again until then.
   */
  const catchUp = async (batchSize = 1000) => {
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM hf.events`);
    for (const deadline = Date.now() + 90_000; readSoFar < Number(rows[0].n);) {
      if (Date.now() > deadline)
        throw new Error(
          'the log did not show every event in 90 s (a transaction open elsewhere on the server?)',
        );
      const batch = await readAllWith(pool, { after: position, batchSize });
      position = batch.position;
      readSoFar += batch.events.length;
      const events = batch.events.map(fromRecorded).filter((e) => wants(e.type));
      seen.push(...events);
      if (events.length) await applyBatch(pool, fleetInventoryProjection, events);
      if (!batch.maybeMore && readSoFar < Number(rows[0].n)) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const devices = async (): Promise<Row[]> =>
    (await pool.query(`SELECT * FROM rm.inventory_devices ORDER BY device_id`)).rows;
  const vms = async (): Promise<Row[]> =>
    (await pool.query(`SELECT * FROM rm.inventory_device_vms ORDER BY device_id, vm_name`)).rows;
  const device = async (id: string): Promise<Row> =>
    (await pool.query(`SELECT * FROM rm.inventory_devices WHERE device_id = $1`, [id])).rows[0];
  const vm = async (id: string, name: string): Promise<Row> =>
    (
      await pool.query(`SELECT * FROM rm.inventory_device_vms WHERE device_id = $1 AND vm_name = $2`, [
        id,
        name,
      ])
    ).rows[0];

  beforeAll(async () => {
    bed = await startReadModelBed('hf_rm_inventory', { poolSize: 6, clock });
    ({ pool, bus } = bed);
  });

  afterAll(async () => {
    await bed?.close();
  });

  it('a vehicle through its life: provisioning, board, hypervisor, plans, Service VM, connectivity', async () => {
    const deviceId = 'truck-0042';
    await run(new ProvisionDevice({ deviceId, deviceClass: 'vehicle', site: 'depot-north', tags: ['eu'] }));
    await catchUp();
    expect(await device(deviceId)).toMatchObject({
      device_class: 'vehicle',
      site: 'depot-north',
      tags: ['eu'],
      provisioned_at: date(0),
      connectivity: 'never-seen',
      rt_vm_count: 0,
      rt_over_budget: false,
      service_vm_os_image_version: null,
    });

    await run(new MarkDeviceOnline({ deviceId, at: at(10) }));
    await run(new ReportBoardInventory({ deviceId, board: sampleBoard(), at: at(11) }));
    await run(new ReportHypervisorVersion({ deviceId, version: '3.3', scenario: 'hybrid_rt', at: at(12) }));
    await run(new ReportServiceVmBooted({ deviceId, osImageVersion: '2026.02.1', at: at(5) }));
    await run(new ReportDeviceModelHealth({ deviceId, health: 'healthy', at: at(13) }));
    now = at(20);
    await run(new CreatePartitionPlan({ planId: 'hybrid-rt', deviceClass: 'vehicle', plan: samplePlan() }));
    await run(new AssignPartitionPlan({ deviceId, planId: 'hybrid-rt' }));
    await run(new UpdateDeviceLabels({ deviceId, tags: ['eu', 'pilot', 'owner="ops, north\\1"'] }));
    await catchUp();
    expect(await device(deviceId)).toMatchObject({
      tags: ['eu', 'owner="ops, north\\1"', 'pilot'],
      site: 'depot-north',
      board_name: sampleBoard().name,
      pcpu_count: sampleBoard().pcpus.length,
      board_reported_at: date(11),
      hypervisor_version: '3.3',
      hypervisor_scenario: 'hybrid_rt',
      service_vm_os_image_version: '2026.02.1',
      service_vm_lifecycle: 'running',
      service_vm_boots: 1,
      device_model_health: 'healthy',
      connectivity: 'online',
      connectivity_since: date(10),
      went_online_at: date(10),
      last_seen_at: date(13),
      desired_plan_id: 'hybrid-rt',
      desired_plan_revision: 1,
      desired_plan_assigned_at: date(20),
      reported_plan_id: null,
      hypervisor_stream_version: '6',
      service_vm_stream_version: '2',
    });

    // An OTA of the Service VM: reboot, new image; the plan takes effect; the device drops off.
    now = at(30);
    await run(new RequestServiceVmReboot({ deviceId, reason: 'os update' }));
    await run(new ReportServiceVmShuttingDown({ deviceId, action: 'reboot', at: at(31) }));
    await catchUp();
    expect(await device(deviceId)).toMatchObject({
      service_vm_lifecycle: 'shutting-down',
      service_vm_lifecycle_since: date(31),
    });
    await run(
      new ReportServiceVmBooted({ deviceId, osImageVersion: '2026.03.0', kernelVersion: '6.6', at: at(40) }),
    );
    await run(new ReportPartitionPlan({ deviceId, planId: 'hybrid-rt', revision: 1, at: at(41) }));
    await run(
      new ReportDeviceModelHealth({ deviceId, health: 'degraded', detail: 'acrn-dm restarting', at: at(42) }),
    );
    await run(new MarkDeviceOffline({ deviceId, at: at(50), lastSeenAt: at(45) }));
    await run(new MarkDeviceOnline({ deviceId, at: at(49) })); // older than the offline: ignored by the domain
    await catchUp();
    expect(await device(deviceId)).toMatchObject({
      service_vm_os_image_version: '2026.03.0',
      service_vm_kernel_version: '6.6',
      service_vm_previous_os_image_version: '2026.02.1',
      service_vm_os_image_changed_at: date(40),
      service_vm_boots: 2,
      service_vm_lifecycle: 'running',
      device_model_health: 'degraded',
      device_model_detail: 'acrn-dm restarting',
      device_model_health_since: date(42),
      reported_plan_id: 'hybrid-rt',
      reported_plan_revision: 1,
      reported_plan_at: date(41),
      connectivity: 'offline',
      connectivity_since: date(50),
      went_online_at: date(10),
      went_offline_at: date(50),
      last_seen_at: date(45),
    });
  });

  it('RT VMs: lifecycle, pending operations, latency against the budget, faults, delete and register again', async () => {
    const deviceId = 'ipc-7';
    const ref = { deviceId, vmName: 'RT_CTRL' };
    now = at(100);
    await run(new ProvisionDevice({ deviceId, deviceClass: 'industrial-pc', site: 'plant-2' }));
    await run(
      new RegisterRtVm({ ...ref, loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus: [3, 2], latencyBudgetUs: 50 }),
    );
    await run(
      new RegisterRtVm({
        deviceId,
        vmName: 'RT_PRE',
        loadOrder: 'PRE_LAUNCHED_VM',
        pinnedPcpus: [1],
        latencyBudgetUs: 20,
      }),
    );
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      registered: true,
      load_order: 'POST_LAUNCHED_VM',
      state: 'stopped',
      pinned_pcpus: [2, 3],
      latency_budget_us: 50,
      pending_operation: null,
      budget_breaches: 0,
      triple_faults: 0,
      registered_at: date(100),
    });
    expect(await device(deviceId)).toMatchObject({
      rt_vm_count: 2,
      rt_vms_started: 1,
      rt_over_budget: false,
    });

    await run(new StartRtVm(ref));
    await run(new ReportRtVmLatency({ ...ref, worstCaseUs: 31.5, at: at(101) }));
    await run(new ReportRtVmLatency({ deviceId, vmName: 'RT_PRE', worstCaseUs: 12, at: at(102) }));
    await catchUp();
    expect(await device(deviceId)).toMatchObject({
      rt_vms_started: 2,
      rt_worst_case_us: 31.5,
      rt_latency_reported_at: date(102),
      rt_over_budget: false,
      last_seen_at: date(102),
    });

    // Over budget: counted as a breach; the device is over budget until a report (or budget) fixes it.
    await run(new ReportRtVmLatency({ ...ref, worstCaseUs: 64, at: at(103) }));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      last_worst_case_us: 64,
      budget_breaches: 1,
      last_breach_at: date(103),
    });
    expect(await device(deviceId)).toMatchObject({
      rt_over_budget: true,
      rt_vms_over_budget: 1,
      rt_worst_case_us: 64,
      rt_budget_breaches: 1,
    });
    now = at(104);
    await run(new ChangeRtVmLatencyBudget({ ...ref, budgetUs: 80 }));
    await catchUp();
    expect(await device(deviceId)).toMatchObject({ rt_over_budget: false, rt_budget_breaches: 1 });

    // A stop is pending until the guest powers off; the power-off arrives in a later batch.
    now = at(110);
    await run(new StopRtVm(ref));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      state: 'started',
      pending_operation: 'stop',
      pending_since: date(110),
    });
    await run(new RecordRtVmPowerOff({ ...ref, at: at(111) }));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({ state: 'stopped', pending_operation: null });

    // A reset survives the guest's power-off (across batches too); the reported state ends it.
    await run(new StartRtVm(ref));
    now = at(120);
    await run(new ResetRtVm(ref));
    await catchUp();
    await run(new RecordRtVmTripleFault({ ...ref, at: at(121) }));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      state: 'stopped',
      pending_operation: 'reset',
      triple_faults: 1,
      last_triple_fault_at: date(121),
    });
    expect(await device(deviceId)).toMatchObject({ rt_triple_faults: 1, rt_vms_started: 1 });
    await run(new ReportRtVmState({ ...ref, state: 'started', at: at(125) }));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({ state: 'started', pending_operation: null });

    // Deleted: the row stays (not counted); registered again: a fresh VM with its fault history.
    await run(new StopRtVm(ref));
    await run(new RecordRtVmPowerOff({ ...ref, at: at(130) }));
    now = at(131);
    await run(new DeleteRtVm(ref));
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      registered: false,
      state: 'unknown',
      deleted_at: date(131),
    });
    expect(await device(deviceId)).toMatchObject({
      rt_vm_count: 1,
      rt_budget_breaches: 0,
      rt_triple_faults: 0,
      rt_worst_case_us: 12,
    });
    now = at(140);
    await run(
      new RegisterRtVm({ ...ref, loadOrder: 'POST_LAUNCHED_VM', pinnedPcpus: [4], latencyBudgetUs: 30 }),
    );
    await catchUp();
    expect(await vm(deviceId, 'RT_CTRL')).toMatchObject({
      registered: true,
      deleted_at: null,
      pinned_pcpus: [4],
      latency_budget_us: 30,
      last_worst_case_us: null,
      budget_breaches: 0,
      triple_faults: 1,
      registered_at: date(140),
    });
    expect(await device(deviceId)).toMatchObject({ rt_vm_count: 2, rt_triple_faults: 1 });
  });

  it('a whole fleet in one batch: every device and VM, each with its own summary', async () => {
    now = at(200);
    for (let i = 0; i < 30; i++) {
      const deviceId = `fleet-${String(i).padStart(3, '0')}`;
      await run(new ProvisionDevice({ deviceId, deviceClass: 'vehicle', site: `site-${i % 3}` }));
      await run(new MarkDeviceOnline({ deviceId, at: at(200 + i) }));
      for (const vmName of ['RT_A', 'RT_B']) {
        await run(
          new RegisterRtVm({
            deviceId,
            vmName,
            loadOrder: 'PRE_LAUNCHED_VM',
            pinnedPcpus: [2],
            latencyBudgetUs: 40,
          }),
        );
        await run(new ReportRtVmLatency({ deviceId, vmName, worstCaseUs: i + (vmName === 'RT_A' ? 0 : 30) }));
      }
    }
    await catchUp(5000);
    const rows = (await devices()).filter((d) => d.device_id.startsWith('fleet-'));
    expect(rows).toHaveLength(30);
    for (const [i, d] of rows.entries()) {
      expect(d).toMatchObject({
        connectivity: 'online',
        rt_vm_count: 2,
        rt_worst_case_us: i + 30,
        rt_over_budget: i + 30 > 40,
        rt_budget_breaches: i + 30 > 40 ? 1 : 0,
      });
    }
  });

  it('applying the same events again changes nothing: deduped by the framework, and forced past it', async () => {
    const beforeDevices = await devices();
    const beforeVms = await vms();
    expect(await applyBatch(pool, fleetInventoryProjection, seen)).toBe(0);
    // Forced (as a parked-event retry does): the rows' stream versions keep older facts out.
    expect(await applyBatch(pool, fleetInventoryProjection, seen, { force: true })).toBe(seen.length);
    // The stalest order there is: every event again on its own, newest first.
    for (const e of [...seen].reverse())
      await applyBatch(pool, fleetInventoryProjection, [e], { force: true });
    expect(await devices()).toEqual(beforeDevices);
    expect(await vms()).toEqual(beforeVms);
  });

  it('a rebuild from position 0 yields the same rows as the live projection, in any batch size', async () => {
    await catchUp();
    const liveDevices = await devices();
    const liveVms = await vms();
    for (const batchSize of [5000, 7, 1]) {
      const result = await rebuildProjection(pool, fleetInventoryProjection, { batchSize });
      expect(result.applied).toBe(seen.length);
      expect(await devices()).toEqual(liveDevices);
      expect(await vms()).toEqual(liveVms);
    }
    const { rows } = await pool.query(`SELECT to_regclass('rm.inventory_devices__rebuild') AS t`);
    expect(rows[0].t).toBeNull();
  });
});
