import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import type { CommandName } from '@hyperfleet/contracts';
import { DeviceCommandStore, type DeviceCommandView } from '@hyperfleet/device-commands';
import { DomainRejection, type CommandActor } from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import { commandActor, type Actor } from '../auth/auth.types';
import { DeviceScope } from '../auth/device-scope';
import { scopeCondition } from '../fleet/device-filter';
import { ApiError } from '../http/api-error';
import {
  DEFAULT_DELIVER_WITHIN_SECONDS,
  FINAL_STATUSES,
  type ApiCommandStatus,
  type CommandAccepted,
  type CommandView,
  type DeviceAction,
} from './commands.schemas';
import { planAction, type ActionArgs } from './device-actions';

/** How often long-polling requests look for final commands (one query for all of them). */
export const WAIT_TICK_MS = 15;

export const commandLink = (commandId: string) => `/api/v1/commands/${encodeURIComponent(commandId)}`;

const iso = (d: Date | string | null | undefined): string | null =>
  d === null || d === undefined ? null : typeof d === 'string' ? d : d.toISOString();

/** The store's view as the API shows it. */
export function toCommandView(v: DeviceCommandView): CommandView {
  return {
    commandId: v.commandId,
    batchId: v.batchId ?? null,
    deviceId: v.deviceId,
    name: v.name,
    args: (v.args ?? {}) as Record<string, unknown>,
    status: v.status as ApiCommandStatus,
    reply: v.reply
      ? {
          code: v.reply.code,
          message: v.reply.message,
          details: (v.reply.details ?? null) as Record<string, unknown> | null,
        }
      : null,
    actor: (v.actor ?? null) as Record<string, unknown> | null,
    createdAt: iso(v.createdAt)!,
    deliverBy: iso(v.deliverBy)!,
    sentAt: iso(v.sentAt),
    acknowledgedAt: iso(v.acknowledgedAt),
    completedAt: iso(v.completedAt),
    expiresAt: iso(v.expiresAt),
  };
}

export function commandNotFound(commandId: string): ApiError {
  return new ApiError(404, 'COMMAND_NOT_FOUND', `Command ${commandId} does not exist`, { commandId });
}

export interface IssueOptions {
  readonly deliverWithinSeconds?: number;
  readonly expectedVersion?: number;
}

/** One decision of the domain about one recorded command: the store is told, the caller gets the outcome. */
export type Decision =
  { readonly accepted: true } | { readonly accepted: false; readonly rejection: DomainRejection };

@Injectable()
export class DeviceCommandsService {
  private readonly log = new Logger('DeviceCommands');

  constructor(
    private readonly store: DeviceCommandStore,
    private readonly bus: CommandBus,
    private readonly scope: DeviceScope,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /**
   * Records the command (queued), lets the domain decide it, and marks it accepted (the gateway may
   * send it now) or rejected (rethrown with `details.commandId`, so the 4xx names the status resource).
   */
  async issue(
    actor: Actor,
    deviceId: string,
    action: DeviceAction,
    args: ActionArgs,
    options: IssueOptions = {},
  ): Promise<CommandAccepted> {
    await this.scope.assertVisible(actor, deviceId);
    const planned = planAction(action, deviceId, args);
    const commandId = randomUUID();
    const who = commandActor(actor);
    const deliverWithin = options.deliverWithinSeconds ?? DEFAULT_DELIVER_WITHIN_SECONDS;
    await this.store.record({
      commandId,
      deviceId,
      name: planned.name as CommandName,
      args: planned.args,
      actor: who,
      deliverBy: new Date(Date.now() + deliverWithin * 1000),
    });
    const decision = await this.decide(commandId, deviceId, action, args, who, options.expectedVersion);
    if (!decision.accepted) {
      const r = decision.rejection;
      throw new DomainRejection(r.code, r.message, { ...r.details, commandId });
    }
    return {
      commandId,
      deviceId,
      name: planned.name,
      status: 'queued',
      links: { self: commandLink(commandId) },
    };
  }

  /**
   * Runs the domain command of a recorded command (its command id is the domain's idempotency key, so
   * deciding again after a crash finds the first outcome) and records the decision. An error that is no
   * domain rule is rethrown, and recorded as a rejection with INTERNAL_ERROR unless told to leave it.
   */
  async decide(
    commandId: string,
    deviceId: string,
    action: DeviceAction,
    args: ActionArgs,
    actor: CommandActor | undefined,
    expectedVersion?: number,
    options: {
      internalErrors: 'reject' | 'retry';
      /** false: the caller records acceptances itself, many at once (the bulk dispatcher). */
      recordAcceptance?: boolean;
    } = { internalErrors: 'reject' },
  ): Promise<Decision> {
    const command = planAction(action, deviceId, args).domainCommand({
      commandId,
      ...(actor ? { actor } : {}),
      ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    });
    try {
      await this.bus.execute(command);
    } catch (err) {
      if (err instanceof DomainRejection) {
        await this.store.rejected(commandId, { code: err.code, message: err.message, details: err.details });
        return { accepted: false, rejection: err };
      }
      // The bulk dispatcher leaves the row undecided: its lease runs out and it is tried again.
      if (options.internalErrors === 'retry') throw err;
      this.log.error(`${action} ${deviceId} (${commandId}) failed: ${(err as Error).message}`);
      await this.store
        .rejected(commandId, {
          code: 'INTERNAL_ERROR',
          message: 'The backend failed to decide the command; it was not sent.',
          details: {},
        })
        .catch(() => undefined);
      throw err;
    }
    if (options.recordAcceptance !== false) await this.store.accepted(commandId);
    return { accepted: true };
  }

  /** One command; a command of a device outside the actor's scope does not exist. */
  async get(actor: Actor, commandId: string): Promise<CommandView> {
    const v = await this.store.get(commandId);
    if (!v || !(await this.visible(actor, v.deviceId))) throw commandNotFound(commandId);
    return toCommandView(v);
  }

  /** Waits until the command is final or `waitMs` passed; the latest view either way. */
  async waitFor(actor: Actor, commandId: string, waitMs: number): Promise<CommandView> {
    const view = await this.get(actor, commandId);
    if (FINAL_STATUSES.includes(view.status) || waitMs <= 0) return view;
    await this.whenFinal(commandId, waitMs);
    const v = await this.store.get(commandId);
    if (!v) throw commandNotFound(commandId);
    return toCommandView(v);
  }

  private readonly waiters = new Map<string, Set<() => void>>();
  private polling = false;

  /**
   * Resolves when the command is final, or after `ms`. Every waiting request shares one poll of the
   * table (one query per tick for all of them), so long-polls stay cheap and quick.
   */
  private whenFinal(commandId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(commandId);
      if (!set) this.waiters.set(commandId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        const s = this.waiters.get(commandId);
        s?.delete(done);
        if (s && !s.size) this.waiters.delete(commandId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      if (!this.polling) void this.pollFinal();
    });
  }

  private async pollFinal(): Promise<void> {
    this.polling = true;
    try {
      while (this.waiters.size) {
        await new Promise((r) => setTimeout(r, WAIT_TICK_MS));
        const ids = [...this.waiters.keys()];
        if (!ids.length) break;
        try {
          const { rows } = await this.pool.query<{ command_id: string }>(
            `SELECT command_id FROM hf.commands WHERE command_id = ANY($1::text[]) AND status = ANY($2::text[])`,
            [ids, FINAL_STATUSES],
          );
          for (const r of rows) for (const done of [...(this.waiters.get(r.command_id) ?? [])]) done();
        } catch (err) {
          this.log.warn(`waiting for commands: ${(err as Error).message}`);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  async list(
    actor: Actor,
    q: {
      deviceId?: string;
      batchId?: string;
      status?: ApiCommandStatus;
      limit: number;
      cursor?: string;
    },
  ): Promise<{ items: CommandView[]; nextCursor: string | null }> {
    if (q.deviceId) await this.scope.assertVisible(actor, q.deviceId);
    const page = await this.store.list({
      ...(q.deviceId ? { deviceId: q.deviceId } : {}),
      ...(q.batchId ? { batchId: q.batchId } : {}),
      ...(q.status ? { status: q.status } : {}),
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    let items = page.items;
    // A scoped credential sees only its devices (a page may then be shorter than `limit`).
    if (!q.deviceId && (actor.scope.sites || actor.scope.deviceClasses) && items.length) {
      const visible = await this.visibleDevices(
        actor,
        items.map((i) => i.deviceId),
      );
      items = items.filter((i) => visible.has(i.deviceId));
    }
    return { items: items.map(toCommandView), nextCursor: page.nextCursor ?? null };
  }

  private async visible(actor: Actor, deviceId: string): Promise<boolean> {
    if (!actor.scope.sites && !actor.scope.deviceClasses) return true;
    return (await this.visibleDevices(actor, [deviceId])).has(deviceId);
  }

  private async visibleDevices(actor: Actor, deviceIds: string[]): Promise<Set<string>> {
    const params: unknown[] = [[...new Set(deviceIds)]];
    const { rows } = await this.pool.query<{ device_id: string }>(
      `SELECT d.device_id FROM rm.inventory_devices d
        WHERE d.device_id = ANY($1::text[]) AND ${scopeCondition(actor.scope, params)}`,
      params,
    );
    return new Set(rows.map((r) => r.device_id));
  }
}
