import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { TERMINAL_UPDATE_STAGES, UPDATE_STAGES, type UpdateStage } from '@hyperfleet/contracts';
import { OtaDeviceRow, READ_MODELS, type OtaTargetKind } from '@hyperfleet/read-models';
import { UNSCOPED, type CredentialScope } from '../auth/auth.types';
import { scopeCondition } from '../fleet/device-filter';
import { pageOf, type Page } from '../scheduling/pagination';
import { deviceNotFound } from '../scheduling/scheduling.queries';
import type {
  OtaDeviceItem,
  OtaDeviceResponse,
  OtaDevicesQuery,
  OtaTarget,
  VersionsQuery,
  VersionsResponse,
} from './ota.schemas';

interface TargetSqlRow {
  device_id: string;
  target_kind: OtaTargetKind;
  vm_name: string;
  reported_version: string | null;
  reported_at: Date | null;
  desired_version: string | null;
  desired_source: string | null;
  desired_at: Date | null;
  u_version: string | null;
  from_version: string | null;
  stage: UpdateStage | null;
  percent: number | null;
  rollout_id: string | null;
  desired_state_version: number | null;
  error_code: string | null;
  error_message: string | null;
  u_reported_at: Date | null;
}

/** Every artefact row: what the events say (ota_targets) beside the latest update-progress. */
const TARGETS_SQL = `
  SELECT device_id, target_kind, vm_name,
         t.reported_version, t.reported_at, t.desired_version, t.desired_source, t.desired_at,
         p.version AS u_version, p.from_version, p.stage, p.percent, p.rollout_id, p.desired_state_version,
         p.error_code, p.error_message, p.reported_at AS u_reported_at
    FROM rm.ota_targets t FULL OUTER JOIN rm.ota_update_progress p USING (device_id, target_kind, vm_name)`;

/** Stages of an update still under way. */
export const IN_PROGRESS_STAGES = UPDATE_STAGES.filter((s) => !TERMINAL_UPDATE_STAGES.includes(s));
export const FAILED_STAGES: readonly UpdateStage[] = ['failed', 'rolled-back'];

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function target(r: TargetSqlRow): OtaTarget {
  return {
    target: r.target_kind,
    vmName: r.vm_name === '' ? null : r.vm_name,
    reportedVersion: r.reported_version,
    reportedAt: iso(r.reported_at),
    desiredVersion: r.desired_version,
    desiredSource: r.desired_source,
    desiredAt: iso(r.desired_at),
    upToDate: r.desired_version === null ? null : r.reported_version === r.desired_version,
    update:
      r.stage !== null && r.u_version !== null && r.rollout_id !== null
        ? {
            version: r.u_version,
            fromVersion: r.from_version,
            stage: r.stage,
            percent: r.percent,
            rolloutId: r.rollout_id,
            desiredStateVersion: r.desired_state_version,
            error: r.error_code !== null ? { code: r.error_code, message: r.error_message ?? '' } : null,
            reportedAt: iso(r.u_reported_at)!,
          }
        : null,
  };
}

/** The query side of the OTA-status read model. */
@Injectable()
export class OtaQueries {
  constructor(@Inject(READ_MODELS) private readonly ds: DataSource) {}

  async device(deviceId: string): Promise<OtaDeviceResponse> {
    const [device, rows] = await Promise.all([
      this.ds.getRepository(OtaDeviceRow).findOneBy({ deviceId }),
      this.ds.query<TargetSqlRow[]>(`${TARGETS_SQL} WHERE device_id = $1 ORDER BY target_kind, vm_name`, [
        deviceId,
      ]),
    ]);
    if (!device && rows.length === 0) throw deviceNotFound(deviceId);
    return {
      deviceId,
      deviceClass: device?.deviceClass ?? null,
      site: device?.site ?? null,
      targets: rows.map(target),
    };
  }

  async versions(q: VersionsQuery, scope: CredentialScope = UNSCOPED): Promise<VersionsResponse> {
    const params: unknown[] = [q.target, IN_PROGRESS_STAGES, FAILED_STAGES];
    const inScope = scoped(scope) ? `AND ${inScopeSql(scope, params)}` : '';
    // A scoped credential sees counts over its own devices only, so they are counted from the rows.
    const counts = scoped(scope)
      ? `SELECT version, sum(reported) AS reported, sum(desired) AS desired FROM (
           SELECT reported_version AS version, 1 AS reported, 0 AS desired FROM rm.ota_targets
            WHERE target_kind = $1 AND reported_version IS NOT NULL ${inScope}
           UNION ALL
           SELECT desired_version, 0, 1 FROM rm.ota_targets
            WHERE target_kind = $1 AND desired_version IS NOT NULL ${inScope}) x GROUP BY version`
      : `SELECT version, reported, desired FROM rm.ota_version_counts WHERE target_kind = $1`;
    const rows = await this.ds.query<
      { version: string; reported: number; desired: number; in_progress: string; failed: string }[]
    >(
      `WITH c AS (${counts}),
            p AS (SELECT version,
                         count(*) FILTER (WHERE stage = ANY($2::text[])) AS in_progress,
                         count(*) FILTER (WHERE stage = ANY($3::text[])) AS failed
                    FROM rm.ota_update_progress WHERE target_kind = $1 ${inScope} GROUP BY version)
       SELECT version, COALESCE(c.reported, 0) AS reported, COALESCE(c.desired, 0) AS desired,
              COALESCE(p.in_progress, 0) AS in_progress, COALESCE(p.failed, 0) AS failed
         FROM c FULL OUTER JOIN p USING (version)
        WHERE COALESCE(c.reported, 0) + COALESCE(c.desired, 0) + COALESCE(p.in_progress, 0) + COALESCE(p.failed, 0) > 0
        ORDER BY version`,
      params,
    );
    return {
      target: q.target,
      versions: rows.map((r) => ({
        version: r.version,
        reported: Number(r.reported),
        desired: Number(r.desired),
        inProgress: Number(r.in_progress),
        failed: Number(r.failed),
      })),
    };
  }

  /** Artefacts of devices, filtered, by (device, artefact); keyset pagination. */
  async devices(q: OtaDevicesQuery, scope: CredentialScope = UNSCOPED): Promise<Page<OtaDeviceItem>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v)}`;
    if (scoped(scope)) where.push(inScopeSql(scope, params));
    if (q.target) where.push(`target_kind = ${param(q.target)}`);
    if (q.version) {
      const v = param(q.version);
      where.push(`(t.reported_version = ${v} OR t.desired_version = ${v} OR p.version = ${v})`);
    }
    if (q.stage) where.push(`p.stage = ${param(q.stage)}`);
    if (q.cursor) {
      where.push(
        `(device_id, target_kind, vm_name) > (${param(q.cursor[0])}, ${param(q.cursor[1])}, ${param(q.cursor[2])})`,
      );
    }
    const rows = await this.ds.query<TargetSqlRow[]>(
      `${TARGETS_SQL} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY device_id, target_kind, vm_name LIMIT ${param(q.limit + 1)}`,
      params,
    );
    return pageOf(
      rows,
      q.limit,
      (r) => ({ deviceId: r.device_id, ...target(r) }),
      (r) => [r.device_id, r.target_kind, r.vm_name],
    );
  }
}

const scoped = (scope: CredentialScope) => scope.sites !== null || scope.deviceClasses !== null;

/** `device_id` lies in the credential's scope (site and class from the fleet inventory). */
function inScopeSql(scope: CredentialScope, params: unknown[]): string {
  return `device_id IN (SELECT d.device_id FROM rm.inventory_devices d WHERE ${scopeCondition(scope, params)})`;
}
