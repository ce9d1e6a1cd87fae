import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  DeviceTimelineRow,
  InventoryDeviceRow,
  InventoryDeviceVmRow,
  READ_MODELS,
} from '@hyperfleet/read-models';
import { streamIds } from '@hyperfleet/domain';
import { UNSCOPED, type CredentialScope } from '../auth/auth.types';
import { ApiError } from '../http/api-error';
import {
  decodeDeviceCursor,
  decodeTimelineCursor,
  encodeCursor,
  type DeviceDetailView,
  type DeviceList,
  type DeviceView,
  type DeviceVmView,
  type ListDevicesQuery,
  type Timeline,
  type TimelineQuery,
} from './fleet.schemas';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const escapeLike = (s: string) => s.replace(/[\\%_]/g, '\\$&');

export function deviceNotFound(id: string): ApiError {
  return new ApiError(404, 'DEVICE_NOT_FOUND', `There is no device ${id} in the fleet inventory.`, {
    deviceId: id,
  });
}

/**
 * The query side of the fleet: devices from the fleet-inventory read model, their events from the
 * device timeline. Read models lag the event store by the projector's delay (usually milliseconds).
 */
@Injectable()
export class FleetQueryService {
  constructor(@Inject(READ_MODELS) private readonly ds: DataSource) {}

  /** Devices in id order (byte order), a page at a time; filters combine with AND, tags too. */
  async listDevices(q: ListDevicesQuery, scope: CredentialScope = UNSCOPED): Promise<DeviceList> {
    const after = q.cursor ? decodeDeviceCursor(q.cursor).id : undefined;
    const qb = this.ds
      .getRepository(InventoryDeviceRow)
      .createQueryBuilder('d')
      .where('d.provisionedAt IS NOT NULL');
    // Outside the credential's scope a device does not exist.
    if (scope.sites) qb.andWhere('d.site = ANY(:scopeSites)', { scopeSites: scope.sites });
    if (scope.deviceClasses)
      qb.andWhere('d.deviceClass = ANY(:scopeClasses)', { scopeClasses: scope.deviceClasses });
    if (q.class) qb.andWhere('d.deviceClass = :class', { class: q.class });
    if (q.site) qb.andWhere('d.site = :site', { site: q.site });
    if (q.tag?.length) qb.andWhere('d.tags @> CAST(:tags AS text[])', { tags: q.tag });
    for (const [i, pair] of (q.attr ?? []).entries()) {
      const colon = pair.indexOf(':');
      const wanted = { [pair.slice(0, colon)]: pair.slice(colon + 1) };
      qb.andWhere(`d.attributes @> CAST(:attr${i} AS jsonb)`, { [`attr${i}`]: JSON.stringify(wanted) });
    }
    if (q.hypervisorVersion) qb.andWhere('d.hypervisorVersion = :hv', { hv: q.hypervisorVersion });
    if (q.serviceVmVersion) qb.andWhere('d.serviceVmOsImageVersion = :svm', { svm: q.serviceVmVersion });
    if (q.online !== undefined) qb.andWhere(`d.connectivity ${q.online ? '=' : '<>'} 'online'`);
    if (q.overBudget !== undefined) qb.andWhere('d.rtOverBudget = :overBudget', { overBudget: q.overBudget });
    // device_id is COLLATE "C": the prefix match and the keyset below are ranges of the primary key.
    if (q.q) qb.andWhere(`d.deviceId LIKE :prefix ESCAPE '\\'`, { prefix: `${escapeLike(q.q)}%` });
    if (after !== undefined) qb.andWhere('d.deviceId > :after', { after });
    const rows = await qb
      .orderBy('d.deviceId', 'ASC')
      .limit(q.limit + 1)
      .getMany();
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toDeviceView),
      nextCursor:
        rows.length > q.limit ? encodeCursor({ k: 'devices', id: page[page.length - 1].deviceId }) : null,
    };
  }

  async getDevice(id: string): Promise<DeviceDetailView> {
    const row = await this.ds.getRepository(InventoryDeviceRow).findOneBy({ deviceId: id });
    if (!row || row.provisionedAt === null) throw deviceNotFound(id);
    const vms = await this.ds
      .getRepository(InventoryDeviceVmRow)
      .find({ where: { deviceId: id, registered: true }, order: { vmName: 'ASC' } });
    return { ...toDeviceView(row), vms: vms.map(toVmView) };
  }

  /** The device's events, newest first; `since` inclusive, `until` exclusive. */
  async timeline(id: string, q: TimelineQuery): Promise<Timeline> {
    const after = q.cursor ? decodeTimelineCursor(q.cursor, id) : undefined;
    const qb = this.ds
      .getRepository(DeviceTimelineRow)
      .createQueryBuilder('t')
      // The exact time of the row (microseconds) for the cursor; a Date would round it to ms.
      .addSelect(
        `to_char("t"."occurred_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
        'cursor_at',
      )
      .where('t.deviceId = :id', { id });
    if (q.type?.length) qb.andWhere('t.eventType IN (:...types)', { types: q.type });
    if (q.since) qb.andWhere('t.occurredAt >= CAST(:since AS timestamptz)', { since: q.since });
    if (q.until) qb.andWhere('t.occurredAt < CAST(:until AS timestamptz)', { until: q.until });
    if (after) {
      qb.andWhere(
        '(t.occurredAt, t.streamId, t.streamPosition) < (CAST(:at AS timestamptz), :stream, CAST(:position AS bigint))',
        { at: after.at, stream: after.s, position: after.p },
      );
    }
    const { entities, raw } = await qb
      .orderBy('t.occurredAt', 'DESC')
      .addOrderBy('t.streamId', 'DESC')
      .addOrderBy('t.streamPosition', 'DESC')
      .limit(q.limit + 1)
      .getRawAndEntities<{ cursor_at: string }>();
    if (entities.length === 0 && !after && !(await this.deviceKnown(id))) throw deviceNotFound(id);
    const page = entities.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        eventId: r.eventId,
        type: r.eventType,
        streamId: r.streamId,
        streamPosition: Number(r.streamPosition),
        logPosition: r.logPosition,
        occurredAt: r.occurredAt.toISOString(),
        data: r.data,
      })),
      nextCursor:
        entities.length > q.limit
          ? encodeCursor({
              k: 'timeline',
              d: id,
              at: raw[page.length - 1].cursor_at,
              s: last.streamId,
              p: Number(last.streamPosition),
            })
          : null,
    };
  }

  /** The version of the device's `hypervisor-<id>` stream in the event store (its ETag); 0 if none. */
  async hypervisorVersion(id: string): Promise<number> {
    const rows: { version: string }[] = await this.ds.query(
      `SELECT version FROM hf.streams WHERE stream_id = $1`,
      [streamIds.hypervisor(id)],
    );
    return rows.length ? Number(rows[0]!.version) : 0;
  }

  /** Known to either read model: each projection catches up on its own. */
  private async deviceKnown(id: string): Promise<boolean> {
    const rows: { known: boolean }[] = await this.ds.query(
      `SELECT EXISTS (SELECT 1 FROM rm.inventory_devices WHERE device_id = $1 AND provisioned_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM rm.device_timeline WHERE device_id = $1) AS known`,
      [id],
    );
    return rows[0]?.known === true;
  }
}

export function toDeviceView(r: InventoryDeviceRow): DeviceView {
  const desired =
    r.desiredPlanId !== null && r.desiredPlanRevision !== null && r.desiredPlanAssignedAt !== null
      ? {
          planId: r.desiredPlanId,
          revision: r.desiredPlanRevision,
          assignedAt: r.desiredPlanAssignedAt.toISOString(),
          warnings: r.desiredPlanWarnings ?? 0,
        }
      : null;
  const reported =
    r.reportedPlanId !== null && r.reportedPlanRevision !== null && r.reportedPlanAt !== null
      ? {
          planId: r.reportedPlanId,
          revision: r.reportedPlanRevision,
          reportedAt: r.reportedPlanAt.toISOString(),
        }
      : null;
  return {
    id: r.deviceId,
    class: r.deviceClass as DeviceView['class'],
    site: r.site ?? '',
    tags: r.tags,
    attributes: r.attributes ?? {},
    provisionedAt: (r.provisionedAt as Date).toISOString(),
    connectivity: {
      online: r.connectivity === 'online',
      status: r.connectivity as DeviceView['connectivity']['status'],
      since: iso(r.connectivitySince),
      lastSeenAt: iso(r.lastSeenAt),
      wentOnlineAt: iso(r.wentOnlineAt),
      wentOfflineAt: iso(r.wentOfflineAt),
    },
    board: r.boardReportedAt
      ? {
          name: r.boardName,
          cpuModel: r.boardCpuModel,
          pcpuCount: r.pcpuCount,
          reportedAt: r.boardReportedAt.toISOString(),
        }
      : null,
    hypervisor:
      r.hypervisorVersion !== null && r.hypervisorReportedAt !== null
        ? {
            version: r.hypervisorVersion,
            scenario: r.hypervisorScenario ?? '',
            reportedAt: r.hypervisorReportedAt.toISOString(),
          }
        : null,
    serviceVm:
      r.serviceVmOsImageVersion !== null && r.serviceVmBootedAt !== null
        ? {
            osImageVersion: r.serviceVmOsImageVersion,
            kernelVersion: r.serviceVmKernelVersion,
            bootedAt: r.serviceVmBootedAt.toISOString(),
            boots: r.serviceVmBoots,
            lifecycle: (r.serviceVmLifecycle ?? 'running') as NonNullable<
              DeviceView['serviceVm']
            >['lifecycle'],
            lifecycleSince: iso(r.serviceVmLifecycleSince),
            previousOsImageVersion: r.serviceVmPreviousOsImageVersion,
            osImageChangedAt: iso(r.serviceVmOsImageChangedAt),
            deviceModel: {
              health: r.deviceModelHealth as NonNullable<DeviceView['serviceVm']>['deviceModel']['health'],
              since: iso(r.deviceModelHealthSince),
              detail: r.deviceModelDetail,
            },
          }
        : null,
    partitionPlan: {
      desired,
      reported,
      inSync:
        desired !== null &&
        reported !== null &&
        desired.planId === reported.planId &&
        desired.revision === reported.revision,
    },
    rtVms: {
      count: r.rtVmCount,
      started: r.rtVmsStarted,
      overBudget: r.rtOverBudget,
      overBudgetCount: r.rtVmsOverBudget,
      worstCaseUs: r.rtWorstCaseUs,
      latencyReportedAt: iso(r.rtLatencyReportedAt),
      budgetBreaches: r.rtBudgetBreaches,
      tripleFaults: r.rtTripleFaults,
    },
    updatedAt: iso(r.lastEventAt),
  };
}

export function toVmView(v: InventoryDeviceVmRow): DeviceVmView {
  return {
    name: v.vmName,
    // Rows from before vm_type existed are all RT VMs.
    vmType: (v.vmType ?? 'RTVM') as DeviceVmView['vmType'],
    loadOrder: v.loadOrder as DeviceVmView['loadOrder'],
    state: (v.state ?? 'unknown') as DeviceVmView['state'],
    pendingOperation: v.pendingOperation as DeviceVmView['pendingOperation'],
    pendingSince: iso(v.pendingSince),
    pinnedPcpus: v.pinnedPcpus,
    latencyBudgetUs: (v.vmType ?? 'RTVM') === 'RTVM' ? (v.latencyBudgetUs ?? 0) : null,
    lastWorstCaseUs: v.lastWorstCaseUs,
    lastLatencyAt: iso(v.lastLatencyAt),
    overBudget:
      v.lastWorstCaseUs !== null && v.latencyBudgetUs !== null && v.lastWorstCaseUs > v.latencyBudgetUs,
    budgetBreaches: v.budgetBreaches,
    lastBreachAt: iso(v.lastBreachAt),
    tripleFaults: v.tripleFaults,
    lastTripleFaultAt: iso(v.lastTripleFaultAt),
    registeredAt: (v.registeredAt as Date).toISOString(),
  };
}
