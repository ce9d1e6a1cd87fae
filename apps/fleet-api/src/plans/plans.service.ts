import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import {
  parsePartitionPlan,
  validatePartitionPlan,
  type PartitionPlan,
  type Violation,
} from '@hyperfleet/acrn';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  DomainRejection,
  HypervisorAggregate,
  PartitionPlanAggregate,
  RevisePartitionPlan,
  latestRevision,
  streamIds,
  type CommandMeta,
  type CommandOutcome,
  type DeviceClass,
  type EventStreamStore,
  type PartitionPlanState,
} from '@hyperfleet/domain';
import { EVENT_STORE, PG_POOL, forEachLimited } from '@hyperfleet/platform';
import { commandActor, type Actor } from '../auth/auth.types';
import { DeviceScope, deviceNotFound } from '../auth/device-scope';
import { BoardStore, boardNotFound, type StoredBoard } from '../boards/board.store';
import { DeviceFilterResolver, type DeviceFilter } from '../fleet/device-filter';
import { ApiError } from '../http/api-error';
import { pageOf, type Page } from '../scheduling/pagination';
import type {
  BulkAssignment,
  PlanResponse,
  PlanSummary,
  PlanWriteResponse,
  SingleAssignment,
  ValidationReportResponse,
  ViolationItem,
} from './plans.schemas';

/** Devices assigned at once by a filter assignment (each is a command on its own hypervisor stream). */
export const ASSIGN_CONCURRENCY = 16;

const PLAN_STREAM_PREFIX = streamIds.partitionPlan('');

/** A plan as folded from its stream, with the stream version and when each revision was written. */
export interface LoadedPlan {
  readonly state: PartitionPlanState;
  readonly version: number;
  readonly revisionTimes: ReadonlyMap<number, string>;
}

export interface RequestContext {
  readonly actor: Actor;
  readonly expectedVersion?: number;
}

function meta(ctx: RequestContext): CommandMeta {
  return {
    commandId: randomUUID(),
    actor: commandActor(ctx.actor),
    ...(ctx.expectedVersion !== undefined ? { expectedVersion: ctx.expectedVersion } : {}),
  };
}

export function planNotFound(planId: string): DomainRejection {
  return new DomainRejection('PARTITION_PLAN_NOT_FOUND', `Partition plan ${planId} does not exist`, {
    planId,
  });
}

/**
 * Plans over HTTP. Reads come from the plan's own stream, folded by the domain's PartitionPlanAggregate,
 * not from the scheduling read model (rm.sched_plan_revisions): the stream is the source of truth, a
 * client reads its own write at once (no projection lag after POST), and the stream version is the ETag
 * that If-Match on a revision is checked against. Plans are few and small, so folding is cheap.
 */
@Injectable()
export class PlansService {
  private readonly log = new Logger('FleetApi');

  constructor(
    private readonly commands: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStreamStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly boards: BoardStore,
    private readonly filters: DeviceFilterResolver,
    private readonly scope: DeviceScope,
  ) {}

  async load(planId: string): Promise<LoadedPlan> {
    const stored = await this.store.readStream(streamIds.partitionPlan(planId));
    const aggregate = new PartitionPlanAggregate(planId).loadFromStream(stored);
    if (!aggregate.state.exists) throw planNotFound(planId);
    const revisionTimes = new Map<number, string>();
    for (const e of stored) {
      if (typeof e.data.revision === 'number' && typeof e.data.at === 'string') {
        revisionTimes.set(e.data.revision, e.data.at);
      }
    }
    return { state: aggregate.state, version: Number(aggregate.version), revisionTimes };
  }

  async list(limit: number, after?: string): Promise<Page<PlanSummary>> {
    // hf.streams lists the plan streams in id order; each page is folded from the streams themselves.
    const { rows } = await this.pool.query<{ stream_id: string }>(
      `SELECT stream_id FROM hf.streams
        WHERE stream_id LIKE $1 AND ($2::text IS NULL OR stream_id > $2)
        ORDER BY stream_id LIMIT $3`,
      [`${PLAN_STREAM_PREFIX}%`, after === undefined ? null : PLAN_STREAM_PREFIX + after, limit + 1],
    );
    const ids = rows.map((r) => r.stream_id.slice(PLAN_STREAM_PREFIX.length));
    const loaded = new Map<string, LoadedPlan>();
    await forEachLimited(ids.slice(0, limit), 8, async (id) => {
      loaded.set(id, await this.load(id));
    });
    return pageOf(
      ids,
      limit,
      (id) => summaryOf(loaded.get(id) as LoadedPlan),
      (id) => [id],
    );
  }

  /**
   * ACRN's rules need a board (pCPUs, caches, CAT): the imported board named by `boardName`, else the one
   * the plan names. An explicitly named board that was not imported is 404; a plan whose own board was not
   * imported is 422 BOARD_NOT_IMPORTED, as nothing could be checked.
   */
  async validate(
    plan: PartitionPlan,
    boardName?: string,
    device?: { actor: Actor; deviceId: string },
  ): Promise<ValidationReportResponse> {
    if (device) return this.validateOnDevice(plan, device.actor, device.deviceId);
    const board = await this.boards.get(boardName ?? plan.board);
    if (!board) {
      if (boardName !== undefined) throw boardNotFound(boardName);
      throw new ApiError(
        422,
        'BOARD_NOT_IMPORTED',
        `The plan is for board ${plan.board}, which was not imported: import its board XML with ` +
          `PUT /api/v1/boards/${plan.board}, or name an imported board`,
        { boardName: plan.board },
      );
    }
    return report(validatePartitionPlan(plan, board.board), board);
  }

  /**
   * Against the board inventory a device reported (its Hypervisor stream): what AssignPartitionPlan will
   * check, so an operator can ask before assigning. 422 BOARD_NOT_REPORTED while the device has sent none.
   */
  private async validateOnDevice(
    plan: PartitionPlan,
    actor: Actor,
    deviceId: string,
  ): Promise<ValidationReportResponse> {
    await this.scope.assertVisible(actor, deviceId);
    const hv = new HypervisorAggregate(deviceId).loadFromStream(
      await this.store.readStream(streamIds.hypervisor(deviceId)),
    );
    if (!hv.state.provisioned) throw deviceNotFound(deviceId);
    const board = hv.state.board;
    if (!board) {
      throw new ApiError(
        422,
        'BOARD_NOT_REPORTED',
        `Device ${deviceId} has not reported its board inventory yet (it does so in its birth)`,
        { deviceId },
      );
    }
    return report(validatePartitionPlan(plan, board), {
      name: board.name,
      source: 'reported',
      revision: null,
      xmlSha256: null,
      deviceId,
    });
  }

  /** Shape check (libs/acrn's plan schema), as the domain does it: 422 INVALID_PARTITION_PLAN. */
  parse(planId: string | null, input: unknown): PartitionPlan {
    const parsed = parsePartitionPlan(input);
    if (!parsed.ok) {
      throw new DomainRejection(
        'INVALID_PARTITION_PLAN',
        `${planId ? `Partition plan ${planId}` : 'The plan'} is not a valid ACRN plan: ${parsed.errors.slice(0, 3).join('; ')}`,
        { ...(planId ? { planId } : {}), errors: parsed.errors },
      );
    }
    return parsed.value;
  }

  /** With the plan's board imported: its errors refuse the write (422 PLAN_DOES_NOT_FIT_BOARD). */
  private async checkAgainstImportedBoard(
    planId: string,
    plan: PartitionPlan,
  ): Promise<ValidationReportResponse | null> {
    const board = await this.boards.get(plan.board);
    if (!board) return null;
    const checked = report(validatePartitionPlan(plan, board.board), board);
    if (!checked.valid) {
      throw new ApiError(
        422,
        'PLAN_DOES_NOT_FIT_BOARD',
        `Partition plan ${planId} breaks ${checked.errorCount} ACRN rule(s) on the imported board ${plan.board}: ` +
          checked.violations
            .filter((v) => v.severity === 'error')
            .slice(0, 3)
            .map((v) => `${v.code}: ${v.message}`)
            .join(' '),
        { planId, boardName: plan.board, ...checked },
      );
    }
    return checked;
  }

  async create(
    ctx: RequestContext,
    input: { planId: string; deviceClass: DeviceClass; description?: string; plan: unknown },
    unmodelled: string[] = [],
  ): Promise<PlanWriteResponse> {
    const plan = this.parse(input.planId, input.plan);
    const validation = await this.checkAgainstImportedBoard(input.planId, plan);
    await this.commands.execute(
      new CreatePartitionPlan(
        {
          planId: input.planId,
          deviceClass: input.deviceClass,
          plan,
          ...(input.description !== undefined ? { description: input.description } : {}),
        },
        meta(ctx),
      ),
    );
    const loaded = await this.load(input.planId);
    return { ...planResponse(loaded, latestRevision(loaded.state)), validation, unmodelled, changed: true };
  }

  async revise(
    ctx: RequestContext,
    planId: string,
    input: { basedOnRevision?: number; plan: unknown },
    unmodelled: string[] = [],
  ): Promise<PlanWriteResponse> {
    const plan = this.parse(planId, input.plan);
    const basedOnRevision = input.basedOnRevision ?? latestRevision((await this.load(planId)).state);
    const validation = await this.checkAgainstImportedBoard(planId, plan);
    const outcome: CommandOutcome = await this.commands.execute(
      new RevisePartitionPlan({ planId, basedOnRevision, plan }, meta(ctx)),
    );
    const loaded = await this.load(planId);
    return {
      ...planResponse(loaded, latestRevision(loaded.state)),
      validation,
      unmodelled,
      changed: outcome.events.length > 0,
    };
  }

  /** Pins the revision (default: the latest now) so every device of a filter gets the same one. */
  private async pinRevision(planId: string, revision?: number): Promise<number> {
    const { state } = await this.load(planId);
    const latest = latestRevision(state);
    if (revision !== undefined && revision > latest) {
      throw new DomainRejection(
        'PARTITION_PLAN_REVISION_NOT_FOUND',
        `Partition plan ${planId} has no revision ${revision} (latest is ${latest})`,
        { planId, revision, latestRevision: latest },
      );
    }
    return revision ?? latest;
  }

  async assignOne(
    ctx: RequestContext,
    planId: string,
    deviceId: string,
    revision?: number,
  ): Promise<SingleAssignment> {
    await this.scope.assertVisible(ctx.actor, deviceId);
    const pinned = await this.pinRevision(planId, revision);
    const outcome: CommandOutcome = await this.commands.execute(
      new AssignPartitionPlan({ deviceId, planId, revision: pinned }, meta(ctx)),
    );
    const event = outcome.events[0] as { data?: { warnings?: unknown } } | undefined;
    const warnings = Array.isArray(event?.data?.warnings)
      ? (event.data.warnings as Record<string, unknown>[])
      : [];
    return {
      planId,
      revision: pinned,
      deviceId,
      changed: outcome.events.length > 0,
      warnings,
      version: outcome.version,
    };
  }

  /**
   * One AssignPartitionPlan per matching device in the caller's scope, ASSIGN_CONCURRENCY at a time; a
   * device the domain refuses is listed with the rule's code and the others go on. If-Match does not
   * apply (one version cannot be every device's).
   */
  async assignFilter(
    ctx: RequestContext,
    planId: string,
    filter: DeviceFilter,
    revision?: number,
  ): Promise<BulkAssignment> {
    const pinned = await this.pinRevision(planId, revision);
    const deviceIds = await this.filters.resolve(filter, ctx.actor.scope);
    const outcomes = new Map<
      string,
      { outcome: 'assigned' | 'unchanged' | 'rejected'; code: string | null; message?: string }
    >();
    await forEachLimited(deviceIds, ASSIGN_CONCURRENCY, async (deviceId) => {
      try {
        const outcome: CommandOutcome = await this.commands.execute(
          new AssignPartitionPlan({ deviceId, planId, revision: pinned }, meta({ actor: ctx.actor })),
        );
        outcomes.set(deviceId, { outcome: outcome.events.length > 0 ? 'assigned' : 'unchanged', code: null });
      } catch (err) {
        if (err instanceof DomainRejection) {
          outcomes.set(deviceId, { outcome: 'rejected', code: err.code, message: err.message });
        } else {
          this.log.error(
            `Assigning plan ${planId} to ${deviceId} failed: ${(err as Error).stack ?? String(err)}`,
          );
          outcomes.set(deviceId, {
            outcome: 'rejected',
            code: 'INTERNAL_ERROR',
            message: 'The server failed to assign the plan to this device; try again',
          });
        }
      }
    });
    const devices = deviceIds.map((deviceId) => {
      const o = outcomes.get(deviceId) as {
        outcome: 'assigned' | 'unchanged' | 'rejected';
        code: string | null;
      };
      return { deviceId, outcome: o.outcome, code: o.code };
    });
    return {
      planId,
      revision: pinned,
      matched: deviceIds.length,
      assigned: devices.filter((d) => d.outcome !== 'rejected').length,
      rejected: deviceIds
        .map((deviceId) => ({ deviceId, ...outcomes.get(deviceId) }))
        .filter((d) => d.outcome === 'rejected')
        .map((d) => ({ deviceId: d.deviceId, code: d.code ?? 'REJECTED', message: d.message ?? '' })),
      devices,
    };
  }
}

export function report(
  violations: readonly Violation[],
  board: StoredBoard | ValidationReportResponse['board'],
): ValidationReportResponse {
  const items: ViolationItem[] = violations.map((v) => {
    const path = (v as unknown as { path?: unknown }).path;
    return {
      code: v.code,
      severity: v.severity,
      group: v.group,
      message: v.message,
      vm: v.vms[0] ?? null,
      vms: v.vms,
      pcpus: v.pcpus,
      path: typeof path === 'string' ? path : Array.isArray(path) ? path.join('.') : null,
    };
  });
  const errorCount = items.filter((v) => v.severity === 'error').length;
  return {
    valid: errorCount === 0,
    board:
      'source' in board
        ? board
        : {
            name: board.name,
            source: 'imported',
            revision: board.revision,
            xmlSha256: board.xmlSha256,
            deviceId: null,
          },
    errorCount,
    warningCount: items.length - errorCount,
    violations: items,
  };
}

function summaryOf(loaded: LoadedPlan): PlanSummary {
  const { state } = loaded;
  const latest = state.revisions[state.revisions.length - 1];
  return {
    planId: state.planId ?? '',
    deviceClass: state.deviceClass ?? '',
    description: state.description,
    latestRevision: latestRevision(state),
    board: latest.board,
    scenario: latest.scenario,
    kind: latest.kind,
    vmCount: latest.vms.length,
    createdAt: state.createdAt,
    revisedAt: state.revisedAt,
    version: loaded.version,
  };
}

export function planResponse(loaded: LoadedPlan, revision: number): PlanResponse {
  const plan = loaded.state.revisions[revision - 1];
  if (!plan) {
    const latest = latestRevision(loaded.state);
    throw new DomainRejection(
      'PARTITION_PLAN_REVISION_NOT_FOUND',
      `Partition plan ${loaded.state.planId} has no revision ${revision} (latest is ${latest})`,
      { planId: loaded.state.planId ?? '', revision, latestRevision: latest },
    );
  }
  return {
    ...summaryOf(loaded),
    revision,
    revisions: loaded.state.revisions.map((_, i) => ({
      revision: i + 1,
      at: loaded.revisionTimes.get(i + 1) ?? null,
    })),
    plan: plan as unknown as Record<string, unknown>,
  };
}
