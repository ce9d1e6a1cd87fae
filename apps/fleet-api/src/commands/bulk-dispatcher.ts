import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DeviceCommandStore } from '@hyperfleet/device-commands';
import { PG_POOL, forEachLimited } from '@hyperfleet/platform';
import type { Pool } from 'pg';
import { actionOfRecorded } from './device-actions';
import { DeviceCommandsService } from './device-commands.service';

/** Rows claimed per round, and domain commands run at once. */
export const DISPATCH_CLAIM = 500;
export const DISPATCH_CONCURRENCY = 24;
/** Accepted decisions recorded together. */
export const ACCEPT_FLUSH = 100;
/** With nothing to do, look again this often (another API instance may have recorded a batch). */
export const DISPATCH_IDLE_MS = 1000;
/** How long a claim holds; an undecided single command older than this is taken over. */
export const DISPATCH_LEASE_MS = 30_000;

/**
 * Decides the commands of bulk batches in the background: claims undecided rows (a lease, so two API
 * instances share the work and a restart resumes it), runs each device's domain command with bounded
 * concurrency and records accepted or rejected. A row whose decision failed for a reason that is no
 * domain rule keeps its lease until it runs out and is tried again.
 */
@Injectable()
export class BulkCommandDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('BulkCommandDispatcher');
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private poked = false;

  constructor(
    private readonly store: DeviceCommandStore,
    private readonly commands: DeviceCommandsService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loop;
    this.loop = null;
  }

  /** Work was recorded: look now instead of at the next idle tick. */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.round();
      } catch (err) {
        if (this.running) this.log.warn(`dispatch round failed (retried): ${(err as Error).message}`);
      }
      if (claimed === 0 && this.running) await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, DISPATCH_IDLE_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        this.poked = false;
        done();
      };
    });
  }

  /** One claim and its decisions; the number of rows claimed. */
  async round(): Promise<number> {
    // Claiming marks rows; look first (on the undecided rows' own partial index) so that a busy API's
    // single commands, which their requests decide, are not claimed every tick for nothing.
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM hf.commands
        WHERE status = 'queued' AND decided_at IS NULL
          AND (batch_id IS NOT NULL OR created_at < now() - $1 * interval '1 millisecond')
          AND (claimed_until IS NULL OR claimed_until <= now())
        LIMIT 1`,
      [DISPATCH_LEASE_MS],
    );
    if (!rowCount) return 0;
    const claimed = await this.store.undecided(DISPATCH_CLAIM, DISPATCH_LEASE_MS);
    // A single command is decided by its HTTP request; only one its API process left undecided (a crash
    // between recording and deciding) is taken over, once older than a lease. Claiming it does no harm:
    // the request's decision clears the lease.
    const takeOverBefore = Date.now() - DISPATCH_LEASE_MS;
    const rows = claimed.filter((r) => r.batchId !== null || Date.parse(r.createdAt) < takeOverBefore);
    // Acceptances are recorded many at once (one UPDATE per ACCEPT_FLUSH), not one round trip each.
    let accepted: string[] = [];
    const flush = async () => {
      const ids = accepted;
      accepted = [];
      if (ids.length) await this.acceptMany(ids);
    };
    await forEachLimited(rows, DISPATCH_CONCURRENCY, async (row) => {
      const planned = actionOfRecorded(row.name, (row.args ?? {}) as Record<string, unknown>);
      try {
        if (!planned) {
          await this.store.rejected(row.commandId, {
            code: 'UNSUPPORTED_COMMAND',
            message: `No operator action sends ${row.name}`,
            details: { name: row.name },
          });
          return;
        }
        const decision = await this.commands.decide(
          row.commandId,
          row.deviceId,
          planned.action,
          planned.args,
          (row.actor ?? undefined) as never,
          undefined,
          { internalErrors: 'retry', recordAcceptance: false },
        );
        if (decision.accepted) {
          accepted.push(row.commandId);
          if (accepted.length >= ACCEPT_FLUSH) await flush();
        }
      } catch (err) {
        this.log.warn(`${row.name} for ${row.deviceId} (${row.commandId}): ${(err as Error).message}`);
      }
    });
    await flush();
    return rows.length;
  }

  /** DeviceCommandStore.accepted for many rows in one statement (the same columns, the same rule). */
  private async acceptMany(commandIds: readonly string[]): Promise<void> {
    await this.pool.query(
      `UPDATE hf.commands SET decided_at = coalesce(decided_at, now()), claimed_until = NULL, updated_at = now()
        WHERE command_id = ANY($1::text[])`,
      [commandIds],
    );
  }
}
