import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  READ_MODELS,
  SchedDeviceRow,
  SchedPcpuRow,
  SchedVmRow,
  type DriftReason,
  type PinningCheck,
} from '@hyperfleet/read-models';
import { UNSCOPED, type CredentialScope } from '../auth/auth.types';
import { ApiError } from '../http/api-error';
import { pageOf, type Page } from './pagination';
import type { DriftItem, DriftQuery, SchedulingDeviceResponse } from './scheduling.schemas';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deviceNotFound(deviceId: string): ApiError {
  return new ApiError(404, 'DEVICE_NOT_FOUND', `No device ${deviceId} in this read model.`, { deviceId });
}

/** The query side of the scheduling-policy read model. */
@Injectable()
export class SchedulingQueries {
  constructor(@Inject(READ_MODELS) private readonly ds: DataSource) {}

  async device(deviceId: string): Promise<SchedulingDeviceResponse> {
    const d = await this.ds.getRepository(SchedDeviceRow).findOneBy({ deviceId });
    if (!d) throw deviceNotFound(deviceId);
    const [pcpus, vms] = await Promise.all([
      this.ds
        .getRepository(SchedPcpuRow)
        .find({ where: { deviceId }, order: { source: 'ASC', pcpuId: 'ASC' } }),
      this.ds.getRepository(SchedVmRow).find({ where: { deviceId }, order: { source: 'ASC', vmId: 'ASC' } }),
    ]);
    const allocation = (source: 'assigned' | 'reported', closNeeded: number | null, known: boolean) =>
      known && vms.some((v) => v.source === source)
        ? {
            closNeeded,
            closAvailable: d.closAvailable,
            pcpus: pcpus
              .filter((p) => p.source === source)
              .map((p) => ({
                pcpuId: p.pcpuId,
                onBoard: p.onBoard,
                coreId: p.coreId,
                vms: p.vmNames,
                owners: p.owners,
                shared: p.shared,
              })),
            vms: vms
              .filter((v) => v.source === source)
              .map((v) => ({
                vm: v.vmName,
                vmId: v.vmId,
                loadOrder: v.loadOrder,
                vmType: v.vmType,
                lapicPassthrough: v.lapicPassthrough,
                implicitAffinity: v.implicitAffinity,
                pcpus: v.pcpus,
                vcpus: v.vcpus,
              })),
          }
        : null;
    const board = d.board as { name?: string; pcpus?: unknown[] } | null;
    return {
      deviceId: d.deviceId,
      deviceClass: d.deviceClass,
      site: d.site,
      tags: d.tags,
      board: board
        ? { name: String(board.name), pcpus: board.pcpus?.length ?? 0, reportedAt: iso(d.boardReportedAt) }
        : null,
      assigned:
        d.assignedPlanId !== null && d.assignedRevision !== null
          ? {
              planId: d.assignedPlanId,
              revision: d.assignedRevision,
              assignedAt: iso(d.assignedAt),
              planKnown: d.assignedPlanKnown,
              warningsAtAssignment: d.assignedWarnings,
            }
          : null,
      reported:
        d.reportedPlanId !== null && d.reportedRevision !== null
          ? {
              planId: d.reportedPlanId,
              revision: d.reportedRevision,
              reportedAt: iso(d.reportedAt),
              planKnown: d.reportedPlanKnown,
            }
          : null,
      planStatus: d.planStatus as SchedulingDeviceResponse['planStatus'],
      drift: d.drift,
      driftReasons: d.driftReasons as DriftReason[],
      violations: d.violations,
      errorCount: d.errorCount,
      warningCount: d.warningCount,
      allocation: {
        assigned: allocation('assigned', d.assignedClosNeeded, d.assignedPlanKnown),
        reported: allocation('reported', d.reportedClosNeeded, d.reportedPlanKnown),
      },
      rtPinning: d.rtPinning as PinningCheck[],
      pinningMismatch: d.pinningMismatch,
      updatedAt: d.updatedAt.toISOString(),
    };
  }

  /** Devices in drift, by device id; keyset pagination on the id. */
  async drift(q: DriftQuery, scope: CredentialScope = UNSCOPED): Promise<Page<DriftItem>> {
    const qb = this.ds
      .getRepository(SchedDeviceRow)
      .createQueryBuilder('d')
      .where('d.drift = true')
      .orderBy('d.deviceId', 'ASC')
      .limit(q.limit + 1);
    // Outside the credential's scope a device does not exist.
    if (scope.sites) qb.andWhere('d.site = ANY(:scopeSites)', { scopeSites: scope.sites });
    if (scope.deviceClasses)
      qb.andWhere('d.deviceClass = ANY(:scopeClasses)', { scopeClasses: scope.deviceClasses });
    if (q.class) qb.andWhere('d.deviceClass = :cls', { cls: q.class });
    if (q.site) qb.andWhere('d.site = :site', { site: q.site });
    if (q.cursor) qb.andWhere('d.deviceId > :after', { after: q.cursor[0] });
    const rows = await qb.getMany();
    return pageOf(
      rows,
      q.limit,
      (d) => ({
        deviceId: d.deviceId,
        deviceClass: d.deviceClass,
        site: d.site,
        planStatus: d.planStatus,
        driftReasons: d.driftReasons as DriftReason[],
        assigned:
          d.assignedPlanId !== null && d.assignedRevision !== null
            ? { planId: d.assignedPlanId, revision: d.assignedRevision }
            : null,
        reported:
          d.reportedPlanId !== null && d.reportedRevision !== null
            ? { planId: d.reportedPlanId, revision: d.reportedRevision }
            : null,
        errorCount: d.errorCount,
        updatedAt: d.updatedAt.toISOString(),
      }),
      (d) => [d.deviceId],
    );
  }
}
