import type {
  DeviceLabelsUpdated,
  DeviceProvisioned,
  HypervisorVersionReported,
  PartitionPlanAssigned,
  PartitionPlanReported,
  RtVmDeleted,
  RtVmRegistered,
  ServiceVmBooted,
  ServiceVmOsImageChanged,
} from '@hyperfleet/domain';
import type { ProjectedEvent, Projection, Sql } from '../framework/projection';
import { insertRows, type ColumnSpec } from '../scheduling/sql';

export const OTA_STATUS_PROJECTION = 'ota-status';

/**
 * The artefacts Hyperfleet updates on a device: the protocol's three (`hypervisor`,
 * `service-vm-image`, `rtvm-image` per RT VM) and the partition plan the hypervisor binary is built
 * from (`partition-plan`, version `<planId>@<revision>`): today the only artefact with a desired
 * version, set by PartitionPlanAssigned.
 */
export const OTA_TARGET_KINDS = ['hypervisor', 'partition-plan', 'service-vm-image', 'rtvm-image'] as const;
export type OtaTargetKind = (typeof OTA_TARGET_KINDS)[number];

/** One version fact about one artefact of one device. `vmName` is '' unless the artefact is per VM. */
export interface VersionFact {
  readonly deviceId: string;
  readonly kind: OtaTargetKind;
  readonly vmName: string;
  readonly version: string;
}

type Data<E extends { data: unknown }> = E['data'];
type FactsOf = (data: Record<string, unknown>) => VersionFact[];

export const planVersion = (planId: string, revision: number): string => `${planId}@${revision}`;

/**
 * Events that say what a device runs. RT VM images have none yet: the birth carries each VM's
 * `imageVersion`, but no domain event records it (RtVmRegistered has no image), so an RT VM's reported
 * image stays null here until the domain gets such an event; add it to this table then.
 */
export const REPORTED_VERSION_EVENTS: Readonly<Record<string, FactsOf>> = {
  HypervisorVersionReported: (d) => {
    const x = d as Data<HypervisorVersionReported>;
    return [{ deviceId: x.deviceId, kind: 'hypervisor', vmName: '', version: x.version }];
  },
  ServiceVmBooted: (d) => {
    const x = d as Data<ServiceVmBooted>;
    return [{ deviceId: x.deviceId, kind: 'service-vm-image', vmName: '', version: x.osImageVersion }];
  },
  ServiceVmOsImageChanged: (d) => {
    const x = d as Data<ServiceVmOsImageChanged>;
    return [{ deviceId: x.deviceId, kind: 'service-vm-image', vmName: '', version: x.to }];
  },
  PartitionPlanReported: (d) => {
    const x = d as Data<PartitionPlanReported>;
    return [
      {
        deviceId: x.deviceId,
        kind: 'partition-plan',
        vmName: '',
        version: planVersion(x.planId, x.revision),
      },
    ];
  },
};

/**
 * Events that say what a device should run. Today only the partition plan has one; the rollout work
 * adds its desired-state events here (one entry per event type, any artefact), and nothing else in the
 * projection changes.
 */
export const DESIRED_VERSION_EVENTS: Readonly<Record<string, FactsOf>> = {
  PartitionPlanAssigned: (d) => {
    const x = d as Data<PartitionPlanAssigned>;
    return [
      {
        deviceId: x.deviceId,
        kind: 'partition-plan',
        vmName: '',
        version: planVersion(x.planId, x.revision),
      },
    ];
  },
};

const LIFECYCLE_EVENTS = ['DeviceProvisioned', 'DeviceLabelsUpdated', 'RtVmRegistered', 'RtVmDeleted'];

interface TargetState {
  deviceId: string;
  kind: string;
  vmName: string;
  reportedVersion: string | null;
  reportedAt: string | null;
  desiredVersion: string | null;
  desiredSource: string | null;
  desiredAt: string | null;
  updatedAt: string;
}

const TARGET_COLUMNS: readonly ColumnSpec[] = [
  ['device_id', 'text'],
  ['target_kind', 'text'],
  ['vm_name', 'text'],
  ['reported_version', 'text'],
  ['reported_at', 'timestamptz'],
  ['desired_version', 'text'],
  ['desired_source', 'text'],
  ['desired_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
];

const keyOf = (deviceId: string, kind: string, vmName: string) => `${deviceId}\u0000${kind}\u0000${vmName}`;
const eventTime = (e: ProjectedEvent): string => (typeof e.data.at === 'string' ? e.data.at : e.time);
const same = (a: TargetState | undefined, b: TargetState | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Per device and artefact: the version reported, the version desired (generic: any event in
 * DESIRED_VERSION_EVENTS), and per (artefact kind, version) how many devices report and desire it.
 * The current update stage comes from the telemetry channel (OtaProgressRunner), into tables of its
 * own. One read of the touched devices' rows and a constant number of writes per batch.
 */
export const otaStatusProjection: Projection = {
  name: OTA_STATUS_PROJECTION,
  tables: ['ota_devices', 'ota_targets', 'ota_version_counts'],
  handles: [
    ...Object.keys(REPORTED_VERSION_EVENTS),
    ...Object.keys(DESIRED_VERSION_EVENTS),
    ...LIFECYCLE_EVENTS,
  ],
  async apply(events, sql, ctx) {
    const t = (name: string) => ctx.table(name);
    const mine = events.filter((e) => typeof e.data.deviceId === 'string');
    if (mine.length === 0) return;
    const ids = [...new Set(mine.map((e) => e.data.deviceId as string))];

    const { rows } = await sql.query<{
      device_id: string;
      target_kind: string;
      vm_name: string;
      reported_version: string | null;
      reported_at: Date | null;
      desired_version: string | null;
      desired_source: string | null;
      desired_at: Date | null;
      updated_at: Date;
    }>(`SELECT * FROM ${t('ota_targets')} WHERE device_id = ANY($1::text[])`, [ids]);
    const before = new Map<string, TargetState>();
    for (const r of rows) {
      before.set(keyOf(r.device_id, r.target_kind, r.vm_name), {
        deviceId: r.device_id,
        kind: r.target_kind,
        vmName: r.vm_name,
        reportedVersion: r.reported_version,
        reportedAt: r.reported_at?.toISOString() ?? null,
        desiredVersion: r.desired_version,
        desiredSource: r.desired_source,
        desiredAt: r.desired_at?.toISOString() ?? null,
        updatedAt: r.updated_at.toISOString(),
      });
    }
    const after = new Map<string, TargetState>([...before].map(([k, v]) => [k, { ...v }]));
    const target = (deviceId: string, kind: string, vmName: string, at: string): TargetState => {
      const k = keyOf(deviceId, kind, vmName);
      let s = after.get(k);
      if (!s) {
        s = {
          deviceId,
          kind,
          vmName,
          reportedVersion: null,
          reportedAt: null,
          desiredVersion: null,
          desiredSource: null,
          desiredAt: null,
          updatedAt: at,
        };
        after.set(k, s);
      }
      return s;
    };

    const devices = new Map<string, { class: string | null; site: string | null; at: string }>();
    for (const e of mine) {
      const at = eventTime(e);
      const deviceId = e.data.deviceId as string;
      const dev = devices.get(deviceId) ?? { class: null, site: null, at };
      // The latest, not the last: a report may carry an earlier time than the event before it.
      if (Date.parse(at) > Date.parse(dev.at)) dev.at = at;
      devices.set(deviceId, dev);
      for (const f of REPORTED_VERSION_EVENTS[e.type]?.(e.data) ?? []) {
        const s = target(f.deviceId, f.kind, f.vmName, at);
        s.reportedVersion = f.version;
        s.reportedAt = at;
        s.updatedAt = at;
      }
      for (const f of DESIRED_VERSION_EVENTS[e.type]?.(e.data) ?? []) {
        const s = target(f.deviceId, f.kind, f.vmName, at);
        s.desiredVersion = f.version;
        s.desiredSource = e.type;
        s.desiredAt = at;
        s.updatedAt = at;
      }
      switch (e.type) {
        case 'DeviceProvisioned': {
          const d = e.data as Data<DeviceProvisioned>;
          dev.class = d.deviceClass;
          dev.site = d.site;
          break;
        }
        case 'DeviceLabelsUpdated':
          dev.site = (e.data as Data<DeviceLabelsUpdated>).site;
          break;
        case 'RtVmRegistered':
          // The RT VM's image is an artefact from now on, its version unknown (see REPORTED_VERSION_EVENTS).
          target(deviceId, 'rtvm-image', (e.data as Data<RtVmRegistered>).vmName, at);
          break;
        case 'RtVmDeleted':
          after.delete(keyOf(deviceId, 'rtvm-image', (e.data as Data<RtVmDeleted>).vmName));
          break;
      }
    }

    await sql.query(
      `INSERT INTO ${t('ota_devices')} (device_id, device_class, site, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
       ON CONFLICT (device_id) DO UPDATE SET
         device_class = COALESCE(EXCLUDED.device_class, ${t('ota_devices')}.device_class),
         site = COALESCE(EXCLUDED.site, ${t('ota_devices')}.site),
         updated_at = GREATEST(EXCLUDED.updated_at, ${t('ota_devices')}.updated_at)`,
      [
        [...devices.keys()],
        [...devices.values()].map((d) => d.class),
        [...devices.values()].map((d) => d.site),
        [...devices.values()].map((d) => d.at),
      ],
    );

    const changed = [...after].filter(([k, s]) => !same(before.get(k), s)).map(([, s]) => s);
    const removed = [...before].filter(([k]) => !after.has(k)).map(([, s]) => s);
    await insertRows(
      sql,
      t('ota_targets'),
      TARGET_COLUMNS,
      changed.map((s) => ({
        device_id: s.deviceId,
        target_kind: s.kind,
        vm_name: s.vmName,
        reported_version: s.reportedVersion,
        reported_at: s.reportedAt,
        desired_version: s.desiredVersion,
        desired_source: s.desiredSource,
        desired_at: s.desiredAt,
        updated_at: s.updatedAt,
      })),
      { key: ['device_id', 'target_kind', 'vm_name'] },
    );
    if (removed.length) {
      await sql.query(
        `DELETE FROM ${t('ota_targets')} t USING unnest($1::text[], $2::text[], $3::text[]) AS r(d, k, v)
          WHERE t.device_id = r.d AND t.target_kind = r.k AND t.vm_name = r.v`,
        [removed.map((s) => s.deviceId), removed.map((s) => s.kind), removed.map((s) => s.vmName)],
      );
    }
    await applyCountDeltas(sql, t('ota_version_counts'), before, after);
  },
};

async function applyCountDeltas(
  sql: Sql,
  table: string,
  before: ReadonlyMap<string, TargetState>,
  after: ReadonlyMap<string, TargetState>,
): Promise<void> {
  const deltas = new Map<string, { kind: string; version: string; reported: number; desired: number }>();
  const add = (s: TargetState | undefined, sign: 1 | -1) => {
    if (!s) return;
    for (const [field, version] of [
      ['reported', s.reportedVersion],
      ['desired', s.desiredVersion],
    ] as const) {
      if (version === null) continue;
      const k = `${s.kind}\u0000${version}`;
      const d = deltas.get(k) ?? { kind: s.kind, version, reported: 0, desired: 0 };
      d[field] += sign;
      deltas.set(k, d);
    }
  };
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    add(before.get(k), -1);
    add(after.get(k), 1);
  }
  const list = [...deltas.values()].filter((d) => d.reported !== 0 || d.desired !== 0);
  if (list.length === 0) return;
  await sql.query(
    `INSERT INTO ${table} (target_kind, version, reported, desired)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[])
     ON CONFLICT (target_kind, version) DO UPDATE SET
       reported = ${table}.reported + EXCLUDED.reported, desired = ${table}.desired + EXCLUDED.desired`,
    [
      list.map((d) => d.kind),
      list.map((d) => d.version),
      list.map((d) => d.reported),
      list.map((d) => d.desired),
    ],
  );
  await sql.query(
    `DELETE FROM ${table} c USING unnest($1::text[], $2::text[]) AS r(k, v)
      WHERE c.target_kind = r.k AND c.version = r.v AND c.reported = 0 AND c.desired = 0`,
    [list.map((d) => d.kind), list.map((d) => d.version)],
  );
}
