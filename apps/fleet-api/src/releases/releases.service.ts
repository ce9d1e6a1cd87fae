import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import {
  ReleaseAggregate,
  releaseStreamId,
  type CommandOutcome,
  type DeviceFacts,
  type ReleaseCommand,
  type ReleaseState,
  type StoredEvent,
} from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import { ApiError } from '../http/api-error';
import type { ReleaseResponse } from './releases.schemas';

const RELEASE_STREAM_PREFIX = releaseStreamId('');

export interface LoadedRelease {
  readonly state: ReleaseState;
  readonly version: number;
}

/**
 * Releases are read by folding their streams, not from a read model: a client reads its own write at once
 * (an upload right after the image was declared), and the stream version is the ETag. Releases are few.
 */
@Injectable()
export class ReleasesService {
  constructor(
    private readonly commands: CommandBus,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  execute(command: ReleaseCommand): Promise<CommandOutcome> {
    return this.commands.execute(command);
  }

  async load(releaseId: string): Promise<LoadedRelease> {
    const all = await this.fold(releaseStreamId(releaseId));
    const found = all[0];
    if (!found) {
      throw new ApiError(404, 'RELEASE_NOT_FOUND', `Release ${releaseId} does not exist`, { releaseId });
    }
    return found;
  }

  /** Every release, newest draft first. */
  async list(): Promise<LoadedRelease[]> {
    const all = await this.fold(null);
    return all.sort((a, b) => (b.state.draftedAt ?? '').localeCompare(a.state.draftedAt ?? ''));
  }

  /** One query for one stream (`streamId`) or for every release stream. */
  private async fold(streamId: string | null): Promise<LoadedRelease[]> {
    const { rows } = await this.pool.query<{
      stream_id: string;
      stream_position: string;
      event_type: string;
      schema_version: number;
      data: StoredEvent['data'];
      message_id: string;
    }>(
      `SELECT stream_id, stream_position, event_type, schema_version, data, message_id
         FROM hf.events
        WHERE ${streamId === null ? "stream_id LIKE $1 || '%'" : 'stream_id = $1'}
        ORDER BY stream_id, stream_position`,
      [streamId ?? RELEASE_STREAM_PREFIX],
    );
    const byStream = new Map<string, StoredEvent[]>();
    for (const r of rows) {
      const events = byStream.get(r.stream_id) ?? [];
      events.push({
        streamId: r.stream_id,
        streamPosition: BigInt(r.stream_position),
        type: r.event_type,
        schemaVersion: r.schema_version,
        data: r.data,
        messageId: r.message_id,
      });
      byStream.set(r.stream_id, events);
    }
    return [...byStream.entries()].map(([id, events]) => {
      const aggregate = new ReleaseAggregate(id.slice(RELEASE_STREAM_PREFIX.length)).loadFromStream(events);
      return { state: aggregate.state, version: Number(aggregate.version) };
    });
  }

  /** What the fleet inventory knows of a device; 404 DEVICE_NOT_FOUND when it is not provisioned. */
  async deviceFacts(deviceId: string): Promise<DeviceFacts> {
    const { rows } = await this.pool.query<{
      device_class: string | null;
      board_name: string | null;
      desired_plan_id: string | null;
      desired_plan_revision: number | null;
      reported_plan_id: string | null;
      reported_plan_revision: number | null;
      hypervisor_version: string | null;
      service_vm_os_image_version: string | null;
      service_vm_kernel_version: string | null;
    }>(
      `SELECT device_class, board_name, desired_plan_id, desired_plan_revision, reported_plan_id,
              reported_plan_revision, hypervisor_version, service_vm_os_image_version, service_vm_kernel_version
         FROM rm.inventory_devices WHERE device_id = $1 AND provisioned_at IS NOT NULL`,
      [deviceId],
    );
    const r = rows[0];
    if (!r) throw new ApiError(404, 'DEVICE_NOT_FOUND', `Device ${deviceId} does not exist`, { deviceId });
    return {
      deviceId,
      deviceClass: r.device_class,
      boardName: r.board_name,
      desiredPlan:
        r.desired_plan_id && r.desired_plan_revision !== null
          ? { planId: r.desired_plan_id, revision: r.desired_plan_revision }
          : null,
      reportedPlan:
        r.reported_plan_id && r.reported_plan_revision !== null
          ? { planId: r.reported_plan_id, revision: r.reported_plan_revision }
          : null,
      hypervisorVersion: r.hypervisor_version,
      serviceVmOsVersion: r.service_vm_os_image_version,
      serviceVmKernelVersion: r.service_vm_kernel_version,
    };
  }
}

export function releaseResponse({ state, version }: LoadedRelease): ReleaseResponse {
  const id = state.releaseId as string;
  return {
    releaseId: id,
    name: state.name,
    version: state.version,
    description: state.description,
    status: state.status ?? 'draft',
    compatibility: {
      deviceClasses: [...state.compatibility.deviceClasses],
      boardNames: [...state.compatibility.boardNames],
      partitionPlan: state.compatibility.partitionPlan,
      currentVersions: { ...state.compatibility.currentVersions },
    },
    images: state.images.map((i) => ({
      imageId: i.imageId,
      target: i.target,
      vmName: i.vmName,
      boardName: i.boardName,
      plan: i.plan,
      fileName: i.fileName,
      mediaType: i.mediaType,
      version: i.version,
      length: i.length,
      sha256: i.sha256,
      sha512: i.sha512,
      depends: i.depends.map((d) => ({ ...d })),
      provides: { ...i.provides },
      uploaded: i.uploadedAt !== null,
      uploadedAt: i.uploadedAt,
      links: {
        content: `/api/v1/releases/${encodeURIComponent(id)}/images/${encodeURIComponent(i.imageId)}/content`,
      },
    })),
    draftedAt: state.draftedAt,
    publishedAt: state.publishedAt,
    deprecatedAt: state.deprecatedAt,
    deprecationReason: state.deprecationReason,
    yankedAt: state.yankedAt,
    yankReason: state.yankReason,
    streamVersion: version,
  };
}
