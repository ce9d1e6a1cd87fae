import type { Pool, PoolClient } from 'pg';
import { liveContext, type ProjectedEvent, type Projection, type ProjectionContext } from './projection';

/** Serialises a projection's writers: the live runner, parked-event retries and a rebuild's swap. */
export async function lockProjection(client: PoolClient, name: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`projection:${name}`]);
}

/**
 * Applies events that this projection has not applied yet (per-stream positions, in the same
 * transaction as the projection's writes) and records the new positions. Returns how many applied.
 */
export async function applyEvents(
  client: PoolClient,
  projection: Projection,
  events: readonly ProjectedEvent[],
  options: { ctx?: ProjectionContext; positionsKey?: string; force?: boolean } = {},
): Promise<number> {
  if (events.length === 0) return 0;
  const key = options.positionsKey ?? projection.name;
  const streams = [...new Set(events.map((e) => e.streamId))];
  const { rows } = await client.query<{ stream_id: string; position: string }>(
    `SELECT stream_id, position FROM rm.projection_positions WHERE projection = $1 AND stream_id = ANY($2::text[])`,
    [key, streams],
  );
  const applied = new Map(rows.map((r) => [r.stream_id, Number(r.position)]));
  const fresh: ProjectedEvent[] = [];
  for (const e of events) {
    const at = applied.get(e.streamId) ?? 0;
    if (options.force || e.streamPosition > at) {
      fresh.push(e);
      applied.set(e.streamId, Math.max(at, e.streamPosition));
    }
  }
  if (fresh.length === 0) return 0;
  await projection.apply(fresh, client, options.ctx ?? liveContext());
  await client.query(
    `INSERT INTO rm.projection_positions (projection, stream_id, position)
     SELECT $1, s, p FROM unnest($2::text[], $3::bigint[]) AS x(s, p)
     ON CONFLICT (projection, stream_id) DO UPDATE SET position = GREATEST(rm.projection_positions.position, EXCLUDED.position)`,
    [key, [...applied.keys()], [...applied.values()]],
  );
  const last = fresh[fresh.length - 1];
  await client.query(
    `INSERT INTO rm.projection_status (projection, events_applied, last_log_position, last_event_at, updated_at)
     VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (projection) DO UPDATE SET events_applied = rm.projection_status.events_applied + EXCLUDED.events_applied,
       last_log_position = EXCLUDED.last_log_position, last_event_at = EXCLUDED.last_event_at, updated_at = now()`,
    [key, fresh.length, last.logPosition, last.time],
  );
  return fresh.length;
}

/** Runs `fn` in a transaction on a connection of its own: committed if it resolves, else rolled back. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One transaction: lock, apply, commit. */
export function applyBatch(
  pool: Pool,
  projection: Projection,
  events: readonly ProjectedEvent[],
  options: { ctx?: ProjectionContext; positionsKey?: string; force?: boolean; lockName?: string } = {},
): Promise<number> {
  return inTransaction(pool, async (client) => {
    await lockProjection(client, options.lockName ?? projection.name);
    return applyEvents(client, projection, events, options);
  });
}
