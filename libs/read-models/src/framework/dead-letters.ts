import type { Pool } from 'pg';
import type { EventTransport } from '@hyperfleet/messaging';
import { applyBatch } from './apply';
import type { ProjectedEvent, Projection } from './projection';

export interface ParkedEvent {
  readonly id: number;
  readonly projection: string;
  readonly event: ProjectedEvent;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
}

/**
 * Poison events: one a projection failed on too often is parked with its error, its stream
 * position is moved past it so the projection goes on, and it waits here for `retry`.
 */
export class DeadLetters {
  constructor(
    private readonly pool: Pool,
    private readonly transport?: EventTransport,
  ) {}

  async park(projection: string, event: ProjectedEvent, error: string, attempts: number): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO rm.dead_letters (projection, event_id, stream_id, stream_position, event_type, event, error, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (projection, event_id) DO UPDATE SET error = EXCLUDED.error,
           attempts = rm.dead_letters.attempts + EXCLUDED.attempts, parked_at = now()`,
        [
          projection,
          event.id,
          event.streamId,
          event.streamPosition,
          event.type,
          JSON.stringify(event),
          error,
          attempts,
        ],
      );
      await client.query(
        `INSERT INTO rm.projection_positions (projection, stream_id, position) VALUES ($1, $2, $3)
         ON CONFLICT (projection, stream_id) DO UPDATE SET position = GREATEST(rm.projection_positions.position, EXCLUDED.position)`,
        [projection, event.streamId, event.streamPosition],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (this.transport?.kind === 'kafka') {
      await this.transport.publish('dead-letters', [
        {
          key: event.key,
          event: {
            specversion: '1.0',
            id: `${projection}/${event.id}`,
            source: `urn:hyperfleet:projector:${projection}`,
            type: 'hf.projection.event-parked',
            subject: event.streamId,
            time: new Date().toISOString(),
            datacontenttype: 'application/json',
            data: { projection, error, attempts, event: JSON.parse(JSON.stringify(event)) },
          },
        },
      ]);
    }
  }

  async list(projection?: string): Promise<ParkedEvent[]> {
    const { rows } = await this.pool.query<{
      id: string;
      projection: string;
      event: ProjectedEvent;
      error: string;
      attempts: number;
      parked_at: Date;
    }>(
      `SELECT id, projection, event, error, attempts, parked_at FROM rm.dead_letters
        WHERE $1::text IS NULL OR projection = $1 ORDER BY id`,
      [projection ?? null],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      projection: r.projection,
      event: r.event,
      error: r.error,
      attempts: r.attempts,
      parkedAt: r.parked_at,
    }));
  }

  async counts(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ projection: string; n: string }>(
      `SELECT projection, count(*) AS n FROM rm.dead_letters GROUP BY projection`,
    );
    return Object.fromEntries(rows.map((r) => [r.projection, Number(r.n)]));
  }

  /** Applies the projection's parked events again, in order; those that now succeed leave the table. */
  async retry(projection: Projection): Promise<{ retried: number; succeeded: number; failed: number }> {
    const parked = await this.list(projection.name);
    let succeeded = 0;
    for (const p of parked) {
      try {
        await applyBatch(this.pool, projection, [p.event], { force: true });
        await this.pool.query(`DELETE FROM rm.dead_letters WHERE id = $1`, [p.id]);
        succeeded++;
      } catch (err) {
        await this.pool.query(
          `UPDATE rm.dead_letters SET attempts = attempts + 1, error = $2 WHERE id = $1`,
          [p.id, err instanceof Error ? err.message : String(err)],
        );
      }
    }
    return { retried: parked.length, succeeded, failed: parked.length - succeeded };
  }
}
