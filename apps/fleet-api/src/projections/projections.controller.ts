import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { DeadLetters, PROJECTIONS } from '@hyperfleet/read-models';
import { Requires } from '../auth/auth.types';

export interface ProjectionStatusView {
  readonly name: string;
  readonly eventsApplied: number;
  readonly lastEventAt: string | null;
  readonly rebuiltAt: string | null;
  /** Events the projection failed on and parked (fleetctl projections parked / retry-parked). */
  readonly parked: number;
}

@ApiTags('projections')
@Controller('api/v1/projections')
export class ProjectionsController {
  private readonly deadLetters: DeadLetters;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {
    this.deadLetters = new DeadLetters(pool);
  }

  @Get()
  @Requires('fleet:read')
  @ApiOperation({
    summary: 'Each read-model projection: events applied, last event, last rebuild, parked (poison) events',
  })
  async list(): Promise<{ items: ProjectionStatusView[] }> {
    const { rows } = await this.pool.query<{
      projection: string;
      events_applied: string;
      last_event_at: Date | null;
      rebuilt_at: Date | null;
    }>(`SELECT projection, events_applied, last_event_at, rebuilt_at FROM rm.projection_status`);
    const parked = await this.deadLetters.counts();
    return {
      items: PROJECTIONS.map((p) => {
        const r = rows.find((x) => x.projection === p.name);
        return {
          name: p.name,
          eventsApplied: Number(r?.events_applied ?? 0),
          lastEventAt: r?.last_event_at?.toISOString() ?? null,
          rebuiltAt: r?.rebuilt_at?.toISOString() ?? null,
          parked: parked[p.name] ?? 0,
        };
      }),
    };
  }
}
