import type { Board, PartitionPlan, Violation } from '@hyperfleet/acrn';
import type {
  BoardInventoryReported,
  DeviceLabelsUpdated,
  DeviceProvisioned,
  PartitionPlanAssigned,
  PartitionPlanCreated,
  PartitionPlanReported,
  PartitionPlanRevised,
  RtVmDeleted,
  RtVmRegistered,
} from '@hyperfleet/domain';
import type { ProjectedEvent, Projection, ProjectionContext, Sql } from '../framework/projection';
import {
  DerivationCache,
  deriveScheduling,
  refKey,
  type Allocation,
  type DerivedScheduling,
  type PlanRef,
  type RtVmPin,
} from './derive';
import { insertRows, type ColumnSpec } from './sql';

export const SCHEDULING_POLICY_PROJECTION = 'scheduling-policy';

const PLAN_EVENTS = ['PartitionPlanCreated', 'PartitionPlanRevised'] as const;
const DEVICE_EVENTS = [
  'DeviceProvisioned',
  'DeviceLabelsUpdated',
  'BoardInventoryReported',
  'PartitionPlanAssigned',
  'PartitionPlanReported',
  'RtVmRegistered',
  'RtVmDeleted',
] as const;

type Data<E extends { data: unknown }> = E['data'];

interface Pin extends RtVmPin {
  readonly registeredAt: string;
}

/** What the projection keeps per device as facts; everything else in the row is derived from these. */
interface DeviceState {
  readonly deviceId: string;
  deviceClass: string | null;
  site: string | null;
  tags: string[];
  board: Board | null;
  boardReportedAt: string | null;
  assigned: PlanRef | null;
  assignedAt: string | null;
  assignedWarnings: Violation[];
  reported: PlanRef | null;
  reportedAt: string | null;
  updatedAt: string;
  pins: Map<string, Pin>;
  pinsChanged: boolean;
}

interface DeviceRowIn {
  device_id: string;
  device_class: string | null;
  site: string | null;
  tags: string[];
  board: Board | null;
  board_reported_at: Date | null;
  assigned_plan_id: string | null;
  assigned_revision: number | null;
  assigned_at: Date | null;
  assigned_warnings: Violation[];
  reported_plan_id: string | null;
  reported_revision: number | null;
  reported_at: Date | null;
  updated_at: Date;
}

const DEVICE_COLUMNS: readonly ColumnSpec[] = [
  ['device_id', 'text'],
  ['device_class', 'text'],
  ['site', 'text'],
  ['tags', 'text[]'],
  ['board', 'jsonb'],
  ['board_name', 'text'],
  ['board_reported_at', 'timestamptz'],
  ['assigned_plan_id', 'text'],
  ['assigned_revision', 'integer'],
  ['assigned_at', 'timestamptz'],
  ['assigned_warnings', 'jsonb'],
  ['reported_plan_id', 'text'],
  ['reported_revision', 'integer'],
  ['reported_at', 'timestamptz'],
  ['plan_status', 'text'],
  ['assigned_plan_known', 'boolean'],
  ['reported_plan_known', 'boolean'],
  ['assigned_clos_needed', 'integer'],
  ['reported_clos_needed', 'integer'],
  ['clos_available', 'integer'],
  ['violations', 'jsonb'],
  ['error_count', 'integer'],
  ['warning_count', 'integer'],
  ['drift', 'boolean'],
  ['drift_reasons', 'text[]'],
  ['rt_pinning', 'jsonb'],
  ['pinning_mismatch', 'boolean'],
  ['updated_at', 'timestamptz'],
];

const PCPU_COLUMNS: readonly ColumnSpec[] = [
  ['device_id', 'text'],
  ['source', 'text'],
  ['pcpu_id', 'integer'],
  ['on_board', 'boolean'],
  ['core_id', 'integer'],
  ['vm_names', 'text[]'],
  ['owners', 'jsonb'],
  ['shared', 'boolean'],
];

const VM_COLUMNS: readonly ColumnSpec[] = [
  ['device_id', 'text'],
  ['source', 'text'],
  ['vm_name', 'text'],
  ['vm_id', 'integer'],
  ['load_order', 'text'],
  ['vm_type', 'text'],
  ['lapic_passthrough', 'boolean'],
  ['implicit_affinity', 'boolean'],
  ['pcpus', 'integer[]'],
  ['vcpus', 'jsonb'],
];

const PIN_COLUMNS: readonly ColumnSpec[] = [
  ['device_id', 'text'],
  ['vm_name', 'text'],
  ['load_order', 'text'],
  ['pinned_pcpus', 'integer[]'],
  ['registered_at', 'timestamptz'],
];

const REVISION_COLUMNS: readonly ColumnSpec[] = [
  ['plan_id', 'text'],
  ['revision', 'integer'],
  ['device_class', 'text'],
  ['plan', 'jsonb'],
  ['recorded_at', 'timestamptz'],
];

const eventTime = (e: ProjectedEvent): string => (typeof e.data.at === 'string' ? e.data.at : e.time);
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const later = (a: string, b: string): string => (Date.parse(b) > Date.parse(a) ? b : a);

/**
 * Per device, the CPU and cache (CLOS) allocation of the assigned partition plan against the plan the
 * device reports running, the board, ACRN's violations of the assigned plan on that board, drift, and
 * the RTVMs' reported pinning against the plan. The plan revisions' content comes from the plan
 * streams, which the projection keeps itself: events of a plan stream and of a device are keyed
 * differently and may arrive in either order, so a revision that arrives after the assignment that
 * names it re-derives the devices that wait for it.
 *
 * Each batch folds the events into the devices' facts first and derives each changed device once
 * (allocations and validation memoised per plan revision and board), then writes every table with a
 * constant number of statements.
 */
export const schedulingPolicyProjection: Projection = {
  name: SCHEDULING_POLICY_PROJECTION,
  tables: ['sched_plan_revisions', 'sched_devices', 'sched_pcpus', 'sched_vms', 'sched_rtvm_pinning'],
  handles: [...PLAN_EVENTS, ...DEVICE_EVENTS],
  async apply(events, sql, ctx) {
    const t = (name: string) => ctx.table(name);

    // 1. Plan revisions: immutable, so the first copy wins.
    const revisions = events.filter((e) => (PLAN_EVENTS as readonly string[]).includes(e.type));
    if (revisions.length) {
      await insertRows(
        sql,
        t('sched_plan_revisions'),
        REVISION_COLUMNS,
        revisions.map((e) => {
          const d = e.data as Data<PartitionPlanCreated> | Data<PartitionPlanRevised>;
          return {
            plan_id: d.planId,
            revision: d.revision,
            device_class: 'deviceClass' in d ? d.deviceClass : null,
            plan: d.plan,
            recorded_at: eventTime(e),
          };
        }),
        { key: ['plan_id', 'revision'], ignore: true },
      );
    }

    // 2. The devices to derive again: those with events, and those waiting for a revision just seen.
    const deviceEvents = events.filter(
      (e) => (DEVICE_EVENTS as readonly string[]).includes(e.type) && typeof e.data.deviceId === 'string',
    );
    const ids = new Set(deviceEvents.map((e) => e.data.deviceId as string));
    if (revisions.length) {
      const { rows } = await sql.query<{ device_id: string }>(
        `SELECT DISTINCT d.device_id FROM ${t('sched_devices')} d
           JOIN unnest($1::text[], $2::int[]) AS r(plan_id, revision)
             ON (d.assigned_plan_id = r.plan_id AND d.assigned_revision = r.revision)
             OR (d.reported_plan_id = r.plan_id AND d.reported_revision = r.revision)`,
        [revisions.map((e) => e.data.planId), revisions.map((e) => e.data.revision)],
      );
      for (const r of rows) ids.add(r.device_id);
    }
    if (ids.size === 0) return;

    // 3. Their facts, then this batch's events on top.
    const states = await loadStates(sql, ctx, [...ids]);
    for (const e of deviceEvents) fold(states, e);

    // 4. Derive each device once, with the plan revisions it names.
    const plans = await loadPlans(sql, ctx, [...states.values()]);
    const cache = new DerivationCache();
    const derived = [...states.values()].map((s) => ({
      state: s,
      d: deriveScheduling(
        { board: s.board, assigned: s.assigned, reported: s.reported, pins: [...s.pins.values()] },
        (ref) => plans.get(refKey(ref)) ?? null,
        cache,
      ),
    }));

    // 5. Write.
    const deviceIds = derived.map((x) => x.state.deviceId);
    await insertRows(
      sql,
      t('sched_devices'),
      DEVICE_COLUMNS,
      derived.map(({ state, d }) => deviceRow(state, d)),
      { key: ['device_id'] },
    );
    await sql.query(`DELETE FROM ${t('sched_pcpus')} WHERE device_id = ANY($1::text[])`, [deviceIds]);
    await sql.query(`DELETE FROM ${t('sched_vms')} WHERE device_id = ANY($1::text[])`, [deviceIds]);
    const sides = derived.flatMap(({ state, d }) =>
      (
        [
          ['assigned', d.assigned],
          ['reported', d.reported],
        ] as const
      ).flatMap(([source, a]) => (a ? [{ deviceId: state.deviceId, source, a }] : [])),
    );
    await insertRows(sql, t('sched_pcpus'), PCPU_COLUMNS, sides.flatMap(pcpuRows));
    await insertRows(sql, t('sched_vms'), VM_COLUMNS, sides.flatMap(vmRows));

    const pinned = derived.filter((x) => x.state.pinsChanged).map((x) => x.state);
    if (pinned.length) {
      await sql.query(`DELETE FROM ${t('sched_rtvm_pinning')} WHERE device_id = ANY($1::text[])`, [
        pinned.map((s) => s.deviceId),
      ]);
      await insertRows(
        sql,
        t('sched_rtvm_pinning'),
        PIN_COLUMNS,
        pinned.flatMap((s) =>
          [...s.pins.values()].map((p) => ({
            device_id: s.deviceId,
            vm_name: p.vmName,
            load_order: p.loadOrder,
            pinned_pcpus: p.pinnedPcpus,
            registered_at: p.registeredAt,
          })),
        ),
      );
    }
  },
};

async function loadStates(
  sql: Sql,
  ctx: ProjectionContext,
  ids: string[],
): Promise<Map<string, DeviceState>> {
  const states = new Map<string, DeviceState>();
  for (const id of ids) {
    states.set(id, {
      deviceId: id,
      deviceClass: null,
      site: null,
      tags: [],
      board: null,
      boardReportedAt: null,
      assigned: null,
      assignedAt: null,
      assignedWarnings: [],
      reported: null,
      reportedAt: null,
      updatedAt: new Date(0).toISOString(),
      pins: new Map(),
      pinsChanged: false,
    });
  }
  const { rows } = await sql.query<DeviceRowIn>(
    `SELECT device_id, device_class, site, tags, board, board_reported_at, assigned_plan_id, assigned_revision,
            assigned_at, assigned_warnings, reported_plan_id, reported_revision, reported_at, updated_at
       FROM ${ctx.table('sched_devices')} WHERE device_id = ANY($1::text[])`,
    [ids],
  );
  for (const r of rows) {
    const s = states.get(r.device_id)!;
    s.deviceClass = r.device_class;
    s.site = r.site;
    s.tags = r.tags;
    s.board = r.board;
    s.boardReportedAt = iso(r.board_reported_at);
    s.assigned =
      r.assigned_plan_id !== null && r.assigned_revision !== null
        ? { planId: r.assigned_plan_id, revision: r.assigned_revision }
        : null;
    s.assignedAt = iso(r.assigned_at);
    s.assignedWarnings = r.assigned_warnings;
    s.reported =
      r.reported_plan_id !== null && r.reported_revision !== null
        ? { planId: r.reported_plan_id, revision: r.reported_revision }
        : null;
    s.reportedAt = iso(r.reported_at);
    s.updatedAt = r.updated_at.toISOString();
  }
  const pins = await sql.query<{
    device_id: string;
    vm_name: string;
    load_order: string;
    pinned_pcpus: number[];
    registered_at: Date;
  }>(
    `SELECT device_id, vm_name, load_order, pinned_pcpus, registered_at
       FROM ${ctx.table('sched_rtvm_pinning')} WHERE device_id = ANY($1::text[])`,
    [ids],
  );
  for (const p of pins.rows) {
    states.get(p.device_id)!.pins.set(p.vm_name, {
      vmName: p.vm_name,
      loadOrder: p.load_order,
      pinnedPcpus: p.pinned_pcpus,
      registeredAt: p.registered_at.toISOString(),
    });
  }
  return states;
}

function fold(states: Map<string, DeviceState>, e: ProjectedEvent): void {
  const s = states.get(e.data.deviceId as string)!;
  const at = eventTime(e);
  s.updatedAt = later(s.updatedAt, at);
  switch (e.type) {
    case 'DeviceProvisioned': {
      const d = e.data as Data<DeviceProvisioned>;
      s.deviceClass = d.deviceClass;
      s.site = d.site;
      s.tags = [...d.tags];
      break;
    }
    case 'DeviceLabelsUpdated': {
      const d = e.data as Data<DeviceLabelsUpdated>;
      s.site = d.site;
      s.tags = [...d.tags];
      break;
    }
    case 'BoardInventoryReported': {
      const d = e.data as Data<BoardInventoryReported>;
      s.board = d.board;
      s.boardReportedAt = at;
      break;
    }
    case 'PartitionPlanAssigned': {
      const d = e.data as Data<PartitionPlanAssigned>;
      s.assigned = { planId: d.planId, revision: d.revision };
      s.assignedAt = at;
      s.assignedWarnings = d.warnings ?? [];
      break;
    }
    case 'PartitionPlanReported': {
      const d = e.data as Data<PartitionPlanReported>;
      s.reported = { planId: d.planId, revision: d.revision };
      s.reportedAt = at;
      break;
    }
    case 'RtVmRegistered': {
      const d = e.data as Data<RtVmRegistered>;
      s.pins.set(d.vmName, {
        vmName: d.vmName,
        loadOrder: d.loadOrder,
        pinnedPcpus: [...d.pinnedPcpus],
        registeredAt: at,
      });
      s.pinsChanged = true;
      break;
    }
    case 'RtVmDeleted': {
      const d = e.data as Data<RtVmDeleted>;
      s.pinsChanged = s.pins.delete(d.vmName) || s.pinsChanged;
      break;
    }
  }
}

async function loadPlans(
  sql: Sql,
  ctx: ProjectionContext,
  states: readonly DeviceState[],
): Promise<Map<string, PartitionPlan>> {
  const refs = new Map<string, PlanRef>();
  for (const s of states) for (const r of [s.assigned, s.reported]) if (r) refs.set(refKey(r), r);
  const plans = new Map<string, PartitionPlan>();
  if (refs.size === 0) return plans;
  const list = [...refs.values()];
  const { rows } = await sql.query<{ plan_id: string; revision: number; plan: PartitionPlan }>(
    `SELECT p.plan_id, p.revision, p.plan FROM ${ctx.table('sched_plan_revisions')} p
       JOIN unnest($1::text[], $2::int[]) AS r(plan_id, revision)
         ON p.plan_id = r.plan_id AND p.revision = r.revision`,
    [list.map((r) => r.planId), list.map((r) => r.revision)],
  );
  for (const r of rows) plans.set(refKey({ planId: r.plan_id, revision: r.revision }), r.plan);
  return plans;
}

function deviceRow(s: DeviceState, d: DerivedScheduling): Record<string, unknown> {
  return {
    device_id: s.deviceId,
    device_class: s.deviceClass,
    site: s.site,
    tags: s.tags,
    board: s.board,
    board_name: s.board?.name ?? null,
    board_reported_at: s.boardReportedAt,
    assigned_plan_id: s.assigned?.planId ?? null,
    assigned_revision: s.assigned?.revision ?? null,
    assigned_at: s.assignedAt,
    assigned_warnings: s.assignedWarnings,
    reported_plan_id: s.reported?.planId ?? null,
    reported_revision: s.reported?.revision ?? null,
    reported_at: s.reportedAt,
    plan_status: d.planStatus,
    assigned_plan_known: d.assignedPlanKnown,
    reported_plan_known: d.reportedPlanKnown,
    assigned_clos_needed: d.assigned?.closNeeded ?? null,
    reported_clos_needed: d.reported?.closNeeded ?? null,
    clos_available: (d.assigned ?? d.reported)?.closAvailable ?? null,
    violations: d.violations,
    error_count: d.errorCount,
    warning_count: d.warningCount,
    drift: d.drift,
    drift_reasons: d.driftReasons,
    rt_pinning: d.rtPinning,
    pinning_mismatch: d.pinningMismatch,
    updated_at: s.updatedAt,
  };
}

type Side = { deviceId: string; source: 'assigned' | 'reported'; a: Allocation };

const pcpuRows = ({ deviceId, source, a }: Side) =>
  a.pcpus.map((p) => ({
    device_id: deviceId,
    source,
    pcpu_id: p.pcpuId,
    on_board: p.onBoard,
    core_id: p.coreId,
    vm_names: [...new Set(p.owners.map((o) => o.vm))],
    owners: p.owners,
    shared: p.shared,
  }));

// A plan with two VMs of one name (VM_NAME_DUPLICATE) can still be reported: its first VM of a name is kept.
const vmRows = ({ deviceId, source, a }: Side) =>
  a.vms
    .filter((v, i) => a.vms.findIndex((w) => w.vm === v.vm) === i)
    .map((v) => ({
      device_id: deviceId,
      source,
      vm_name: v.vm,
      vm_id: v.vmId,
      load_order: v.loadOrder,
      vm_type: v.vmType,
      lapic_passthrough: v.lapicPassthrough,
      implicit_affinity: v.implicitAffinity,
      pcpus: v.pcpus,
      vcpus: v.vcpus,
    }));
