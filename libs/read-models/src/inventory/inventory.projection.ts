import type { Projection, ProjectionContext } from '../framework/projection';
import { INVENTORY_EVENT_TYPES, foldInventory, type Patch } from './inventory.fold';

export const INVENTORY_DEVICES_TABLE = 'inventory_devices';
export const INVENTORY_VMS_TABLE = 'inventory_device_vms';

type PgType =
  | 'text'
  | 'integer'
  | 'bigint'
  | 'double precision'
  | 'boolean'
  | 'timestamptz'
  | 'text[]'
  | 'integer[]'
  | 'jsonb';
type Column = readonly [name: string, type: PgType];

/**
 * Columns a patch sets or leaves (bit i of the patch's `set` mask says column i is in the patch).
 * Those of one stream change only when the patch is newer than the row's version of that stream.
 */
const HYPERVISOR_COLUMNS: readonly Column[] = [
  ['device_class', 'text'],
  ['site', 'text'],
  ['tags', 'text[]'],
  ['provisioned_at', 'timestamptz'],
  ['board_name', 'text'],
  ['board_cpu_model', 'text'],
  ['pcpu_count', 'integer'],
  ['board_reported_at', 'timestamptz'],
  ['hypervisor_version', 'text'],
  ['hypervisor_scenario', 'text'],
  ['hypervisor_reported_at', 'timestamptz'],
  ['connectivity', 'text'],
  ['connectivity_since', 'timestamptz'],
  ['desired_plan_id', 'text'],
  ['desired_plan_revision', 'integer'],
  ['desired_plan_assigned_at', 'timestamptz'],
  ['desired_plan_warnings', 'integer'],
  ['reported_plan_id', 'text'],
  ['reported_plan_revision', 'integer'],
  ['reported_plan_at', 'timestamptz'],
  ['attributes', 'jsonb'],
];
const SERVICE_VM_COLUMNS: readonly Column[] = [
  ['service_vm_os_image_version', 'text'],
  ['service_vm_kernel_version', 'text'],
  ['service_vm_booted_at', 'timestamptz'],
  ['service_vm_previous_os_image_version', 'text'],
  ['service_vm_os_image_changed_at', 'timestamptz'],
  ['service_vm_lifecycle', 'text'],
  ['service_vm_lifecycle_since', 'timestamptz'],
  ['device_model_health', 'text'],
  ['device_model_health_since', 'timestamptz'],
  ['device_model_detail', 'text'],
];
/** Device patch fields that are always sent (null when absent): versions, latest times, increments. */
const DEVICE_EXTRAS: readonly Column[] = [
  ['hypervisor_stream_version', 'bigint'],
  ['service_vm_stream_version', 'bigint'],
  ['went_online_at', 'timestamptz'],
  ['went_offline_at', 'timestamptz'],
  ['last_seen_at', 'timestamptz'],
  ['last_event_at', 'timestamptz'],
  ['service_vm_boots_add', 'integer'],
  ['vms', 'boolean'],
];

const VM_COLUMNS: readonly Column[] = [
  ['registered', 'boolean'],
  ['vm_type', 'text'],
  ['load_order', 'text'],
  ['state', 'text'],
  ['pinned_pcpus', 'integer[]'],
  ['latency_budget_us', 'double precision'],
  ['last_worst_case_us', 'double precision'],
  ['last_latency_at', 'timestamptz'],
  ['last_breach_at', 'timestamptz'],
  ['triple_faults', 'integer'],
  ['last_triple_fault_at', 'timestamptz'],
  ['registered_at', 'timestamptz'],
  ['deleted_at', 'timestamptz'],
  // Set with their own rules below.
  ['pending_operation', 'text'],
  ['pending_since', 'timestamptz'],
  ['budget_breaches', 'integer'],
];
const VM_EXTRAS: readonly Column[] = [
  ['stream_version', 'bigint'],
  ['last_event_at', 'timestamptz'],
  ['budget_breaches_add', 'integer'],
  ['clear_stop', 'boolean'],
];
const VM_CUSTOM = new Set(['pending_operation', 'pending_since', 'budget_breaches']);

/** Every key a patch may carry, by table: the fold's output is checked against these in the tests. */
export const DEVICE_PATCH_FIELDS: readonly string[] = [
  'device_id',
  ...[...HYPERVISOR_COLUMNS, ...SERVICE_VM_COLUMNS, ...DEVICE_EXTRAS].map(([name]) => name),
];
export const VM_PATCH_FIELDS: readonly string[] = [
  'device_id',
  'vm_name',
  ...[...VM_COLUMNS, ...VM_EXTRAS].map(([name]) => name),
];

// ---- statements --------------------------------------------------------------------------------

/**
 * Array columns travel as PostgreSQL array literals (unnest cannot take ragged 2-D arrays), jsonb as
 * JSON text.
 */
const asText = (type: PgType) => type.endsWith('[]') || type === 'jsonb';
const wire = (type: PgType): string => (asText(type) ? 'text' : type);
const value = (name: string, type: PgType) => (asText(type) ? `r.${name}::${type}` : `r.${name}`);

/** `FROM unnest($1::text[], …) AS r(…)`: the batch's patches as rows, one typed array per field. */
function unnestSource(fields: readonly Column[]): string {
  const arrays = fields.map(([, type], i) => `$${i + 1}::${wire(type)}[]`).join(', ');
  return `unnest(${arrays}) AS r(${fields.map(([name]) => name).join(', ')})`;
}

const bit = (columns: readonly Column[], name: string) =>
  `(r.set & ${2 ** columns.findIndex(([c]) => c === name)}) <> 0`;

/** `col = patch value` when the patch sets it and is newer than the row, else the row's value. */
function guarded(mask: readonly Column[], name: string, type: PgType, newer: string) {
  return `${name} = CASE WHEN ${bit(mask, name)} AND ${newer} THEN ${value(name, type)} ELSE t.${name} END`;
}

const VM_FIELDS: readonly Column[] = [
  ['device_id', 'text'],
  ['vm_name', 'text'],
  ['set', 'bigint'],
  ...VM_COLUMNS,
  ...VM_EXTRAS,
];

function vmUpdate(vms: string): string {
  const newer = 'coalesce(r.stream_version > t.stream_version, false)';
  const pending = bit(VM_COLUMNS, 'pending_operation');
  return `UPDATE ${vms} AS t SET
      ${VM_COLUMNS.filter(([c]) => !VM_CUSTOM.has(c))
        .map(([c, type]) => guarded(VM_COLUMNS, c, type, newer))
        .join(',\n      ')},
      pending_operation = CASE WHEN NOT ${newer} THEN t.pending_operation
        WHEN ${pending} THEN r.pending_operation
        WHEN r.clear_stop AND t.pending_operation = 'stop' THEN NULL
        ELSE t.pending_operation END,
      pending_since = CASE WHEN NOT ${newer} THEN t.pending_since
        WHEN ${pending} THEN r.pending_since
        WHEN r.clear_stop AND t.pending_operation = 'stop' THEN NULL
        ELSE t.pending_since END,
      budget_breaches = CASE WHEN NOT ${newer} THEN t.budget_breaches
        WHEN ${bit(VM_COLUMNS, 'budget_breaches')} THEN r.budget_breaches
        ELSE t.budget_breaches + coalesce(r.budget_breaches_add, 0) END,
      stream_version = GREATEST(t.stream_version, r.stream_version),
      last_event_at = GREATEST(t.last_event_at, r.last_event_at)
    FROM ${unnestSource(VM_FIELDS)}
    WHERE t.device_id = r.device_id AND t.vm_name = r.vm_name`;
}

const DEVICE_GUARDED = [...HYPERVISOR_COLUMNS, ...SERVICE_VM_COLUMNS];
const DEVICE_FIELDS: readonly Column[] = [
  ['device_id', 'text'],
  ['set', 'bigint'],
  ...DEVICE_GUARDED,
  ...DEVICE_EXTRAS,
];

function deviceUpdate(devices: string, vms: string): string {
  const hv = 'r.hypervisor_stream_version > t.hypervisor_stream_version';
  const svm = 'r.service_vm_stream_version > t.service_vm_stream_version';
  // The RT VM summary is recomputed from the device's registered VM rows (already updated by this
  // batch), so it is right whatever happened before; only devices whose VMs changed pay for it.
  const summary = (col: string, v: string) => `${col} = CASE WHEN r.vms THEN ${v} ELSE t.${col} END`;
  const max = (col: string) => `${col} = GREATEST(t.${col}, r.${col})`;
  return `UPDATE ${devices} AS t SET
      ${HYPERVISOR_COLUMNS.map(([c, type]) => guarded(DEVICE_GUARDED, c, type, hv)).join(',\n      ')},
      ${SERVICE_VM_COLUMNS.map(([c, type]) => guarded(DEVICE_GUARDED, c, type, svm)).join(',\n      ')},
      service_vm_boots = CASE WHEN ${svm} THEN t.service_vm_boots + coalesce(r.service_vm_boots_add, 0)
        ELSE t.service_vm_boots END,
      ${['went_online_at', 'went_offline_at', 'last_seen_at', 'last_event_at'].map(max).join(',\n      ')},
      hypervisor_stream_version = GREATEST(t.hypervisor_stream_version, r.hypervisor_stream_version),
      service_vm_stream_version = GREATEST(t.service_vm_stream_version, r.service_vm_stream_version),
      ${summary('rt_vm_count', 'a.vm_count')},
      ${summary('rt_vms_started', 'a.started')},
      ${summary('rt_vms_over_budget', 'a.over_budget')},
      ${summary('rt_over_budget', 'a.over_budget > 0')},
      ${summary('rt_worst_case_us', 'a.worst_case_us')},
      ${summary('rt_latency_reported_at', 'a.latency_at')},
      ${summary('rt_budget_breaches', 'a.breaches')},
      ${summary('rt_triple_faults', 'a.triple_faults')}
    FROM ${unnestSource(DEVICE_FIELDS)}
    LEFT JOIN LATERAL (
      SELECT count(*)::int AS vm_count,
             count(*) FILTER (WHERE v.state = 'started')::int AS started,
             count(*) FILTER (WHERE v.last_worst_case_us > v.latency_budget_us)::int AS over_budget,
             max(v.last_worst_case_us) AS worst_case_us,
             max(v.last_latency_at) AS latency_at,
             coalesce(sum(v.budget_breaches), 0)::int AS breaches,
             coalesce(sum(v.triple_faults), 0)::int AS triple_faults
        FROM ${vms} AS v
       WHERE r.vms AND v.device_id = r.device_id AND v.registered
         AND coalesce(v.vm_type, 'RTVM') = 'RTVM') AS a ON true
    WHERE t.device_id = r.device_id`;
}

/** The statements for one set of tables (live or shadow), built once per context. */
interface Statements {
  readonly insert: string;
  readonly vms: string;
  readonly devices: string;
}

const statementCache = new Map<string, Statements>();

function statements(ctx: ProjectionContext): Statements {
  const devices = ctx.table(INVENTORY_DEVICES_TABLE);
  const vms = ctx.table(INVENTORY_VMS_TABLE);
  const key = `${devices}|${vms}`;
  let s = statementCache.get(key);
  if (!s) {
    s = {
      // Rows first (both tables in one round trip), then every patch in one UPDATE per table. Rows
      // that exist are skipped by an index lookup, cheaper than a conflicting insert.
      // JIT is switched off for the rest of the transaction: the UPDATEs' row estimates can cross
      // jit_above_cost, and compiling them took longer than running them (measured: ~190 ms on a
      // 2,000-event batch, the whole batch otherwise taking ~65 ms).
      insert: `WITH d AS (
          INSERT INTO ${devices} (device_id)
          SELECT x.id FROM unnest($1::text[]) AS x(id)
           WHERE NOT EXISTS (SELECT 1 FROM ${devices} AS t WHERE t.device_id = x.id)
          ON CONFLICT (device_id) DO NOTHING
        ), v AS (
          INSERT INTO ${vms} (device_id, vm_name)
          SELECT x.d, x.n FROM unnest($2::text[], $3::text[]) AS x(d, n)
           WHERE NOT EXISTS (SELECT 1 FROM ${vms} AS t WHERE t.device_id = x.d AND t.vm_name = x.n)
          ON CONFLICT (device_id, vm_name) DO NOTHING
        ) SELECT set_config('jit', 'off', true)`,
      vms: vmUpdate(vms),
      devices: deviceUpdate(devices, vms),
    };
    statementCache.set(key, s);
  }
  return s;
}

// ---- parameters --------------------------------------------------------------------------------

/** A PostgreSQL array literal: `{1,2}`, `{"a","b \"c\""}`. */
export function pgArrayLiteral(values: readonly unknown[]): string {
  return `{${values
    .map((v) => (typeof v === 'number' ? String(v) : `"${String(v).replace(/[\\"]/g, '\\$&')}"`))
    .join(',')}}`;
}

/** One array per field, in `fields` order; `set` is the bitmask of the `guarded` columns present. */
function parameters(patches: readonly Patch[], fields: readonly Column[], guarded: readonly Column[]) {
  return fields.map(([name, type]) =>
    patches.map((p) => {
      if (name === 'set') return guarded.reduce((mask, [c], i) => (c in p ? mask + 2 ** i : mask), 0);
      const v = p[name];
      if (v === undefined || v === null) return type === 'boolean' ? false : null;
      if (type === 'jsonb') return JSON.stringify(v);
      return type.endsWith('[]') && Array.isArray(v) ? pgArrayLiteral(v) : v;
    }),
  );
}

/**
 * `fleet-inventory`: devices (rm.inventory_devices) and their RT VMs (rm.inventory_device_vms), for
 * the fleet API's list and detail views. A batch costs three statements whatever its size: insert
 * the rows that are missing, update the VMs, update the devices (with their RT VM summary). Patches
 * travel as one typed array per column (`unnest`), about twice as fast as a JSON document per row.
 */
export const fleetInventoryProjection: Projection = {
  name: 'fleet-inventory',
  tables: [INVENTORY_DEVICES_TABLE, INVENTORY_VMS_TABLE],
  handles: INVENTORY_EVENT_TYPES,
  async apply(events, sql, ctx) {
    const { devices, vms } = foldInventory(events);
    if (devices.length === 0) return;
    const s = statements(ctx);
    await sql.query(s.insert, [
      devices.map((d) => d.device_id),
      vms.map((v) => v.device_id),
      vms.map((v) => v.vm_name),
    ]);
    if (vms.length) await sql.query(s.vms, parameters(vms, VM_FIELDS, VM_COLUMNS));
    await sql.query(s.devices, parameters(devices, DEVICE_FIELDS, DEVICE_GUARDED));
  },
};
