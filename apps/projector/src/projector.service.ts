import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventTransport } from '@hyperfleet/messaging';
import { EVENT_TRANSPORT, PG_POOL } from '@hyperfleet/platform';
import {
  CHANNEL_RUNNERS,
  DeadLetters,
  PROJECTIONS,
  ProjectionRunner,
  projectionNamed,
  rebuildProjection,
  type RebuildProgress,
  type ChannelRunner,
  type RebuildResult,
} from '@hyperfleet/read-models';

export interface ProjectionStatus {
  readonly name: string;
  readonly eventsApplied: number;
  readonly lastLogPosition: string | null;
  readonly lastEventAt: string | null;
  readonly rebuiltAt: string | null;
  readonly parked: number;
}

/** Runs every projection live and offers what operators do with them: status, rebuild, retry. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Projector');
  readonly deadLetters: DeadLetters;
  private readonly runners: ProjectionRunner[];
  /** Consumers of the telemetry channel (CHANNEL_RUNNERS), started after the projections. */
  private readonly channelRunners: ChannelRunner[];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_TRANSPORT) transport: EventTransport,
  ) {
    this.deadLetters = new DeadLetters(pool, transport);
    this.runners = PROJECTIONS.map(
      (p) =>
        new ProjectionRunner(p, {
          pool,
          transport,
          deadLetters: this.deadLetters,
          log: (line) => this.log.warn(line),
        }),
    );
    this.channelRunners = CHANNEL_RUNNERS.map((make) =>
      make({ pool, transport, log: (line) => this.log.warn(line) }),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const r of this.runners) await r.start();
    for (const r of this.channelRunners) await r.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runners, ...this.channelRunners].map((r) => r.stop()));
  }

  async waitUntilCaughtUp(timeoutMs = 30_000): Promise<void> {
    await Promise.all([...this.runners, ...this.channelRunners].map((r) => r.waitUntilCaughtUp(timeoutMs)));
  }

  async status(): Promise<ProjectionStatus[]> {
    const { rows } = await this.pool.query<{
      projection: string;
      events_applied: string;
      last_log_position: string | null;
      last_event_at: Date | null;
      rebuilt_at: Date | null;
    }>(
      `SELECT projection, events_applied, last_log_position, last_event_at, rebuilt_at FROM rm.projection_status`,
    );
    const parked = await this.deadLetters.counts();
    return PROJECTIONS.map((p) => {
      const r = rows.find((x) => x.projection === p.name);
      return {
        name: p.name,
        eventsApplied: Number(r?.events_applied ?? 0),
        lastLogPosition: r?.last_log_position ?? null,
        lastEventAt: r?.last_event_at?.toISOString() ?? null,
        rebuiltAt: r?.rebuilt_at?.toISOString() ?? null,
        parked: parked[p.name] ?? 0,
      };
    });
  }

  rebuild(name: string, onProgress?: (p: RebuildProgress) => void): Promise<RebuildResult> {
    return rebuildProjection(this.pool, projectionNamed(name), { onProgress });
  }

  retryParked(name: string) {
    return this.deadLetters.retry(projectionNamed(name));
  }
}
