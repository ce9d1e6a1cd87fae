import type { Pool } from 'pg';
import { LOG_START, readAllWith, type LogPosition } from '@hyperfleet/event-store';
import { applyBatch, applyEvents, lockProjection } from './apply';
import { fromRecorded } from './events';
import {
  READ_MODEL_SCHEMA,
  shadowContext,
  wantsFilter,
  type ProjectedEvent,
  type Projection,
} from './projection';

export interface RebuildProgress {
  readonly read: number;
  readonly applied: number;
  readonly total: number;
  readonly eventsPerSecond: number;
}

export interface RebuildResult {
  readonly applied: number;
  readonly read: number;
  readonly seconds: number;
}

/**
 * Rebuilds a projection from position 0 of the event store into shadow tables while the live one
 * keeps running, then swaps them in. The swap holds the projection's lock (the live runner waits),
 * applies what arrived meanwhile, and renames the tables and the dedupe positions in one
 * transaction: afterwards the live runner skips what the shadow already applied.
 */
export async function rebuildProjection(
  pool: Pool,
  projection: Projection,
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  const batchSize = options.batchSize ?? 2000;
  const key = `${projection.name}#rebuild`;
  const ctx = shadowContext();
  const wants = wantsFilter(projection);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;

  await pool.query(`DELETE FROM rm.projection_positions WHERE projection = $1`, [key]);
  await pool.query(`DELETE FROM rm.projection_status WHERE projection = $1`, [key]);
  for (const t of projection.tables) {
    await pool.query(`DROP TABLE IF EXISTS ${ctx.table(t)}`);
    await pool.query(`CREATE TABLE ${ctx.table(t)} (LIKE ${READ_MODEL_SCHEMA}."${t}" INCLUDING ALL)`);
  }
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM hf.events WHERE $1::text[] IS NULL OR event_type = ANY($1::text[])`,
    [projection.handles === 'all' ? null : projection.handles],
  );
  const total = Number(rows[0].n);

  let position: LogPosition = LOG_START;
  let read = 0;
  let applied = 0;
  for (;;) {
    const batch = await readAllWith(pool, { after: position, batchSize });
    position = batch.position;
    const events = batch.events.map(fromRecorded).filter((e) => wants(e.type));
    read += events.length;
    if (events.length) {
      applied += await applyBatchShadow(pool, projection, events, key);
    }
    options.onProgress?.({ read, applied, total, eventsPerSecond: read / Math.max(elapsed(), 1e-6) });
    if (!batch.maybeMore) break;
  }

  // The swap: under the projection's lock, catch up on what came in since, then trade places.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await lockProjection(client, projection.name);
    for (;;) {
      const batch = await readAllWith(client, { after: position, batchSize });
      position = batch.position;
      const events = batch.events.map(fromRecorded).filter((e) => wants(e.type));
      read += events.length;
      applied += await applyEvents(client, projection, events, { ctx, positionsKey: key });
      if (!batch.maybeMore) break;
    }
    for (const t of projection.tables) {
      await client.query(`DROP TABLE ${READ_MODEL_SCHEMA}."${t}"`);
      await client.query(`ALTER TABLE ${ctx.table(t)} RENAME TO "${t}"`);
    }
    await client.query(`DELETE FROM rm.projection_positions WHERE projection = $1`, [projection.name]);
    await client.query(`UPDATE rm.projection_positions SET projection = $1 WHERE projection = $2`, [
      projection.name,
      key,
    ]);
    await client.query(`DELETE FROM rm.projection_status WHERE projection = $1`, [projection.name]);
    await client.query(
      `UPDATE rm.projection_status SET projection = $1, rebuilt_at = now() WHERE projection = $2`,
      [projection.name, key],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  options.onProgress?.({
    read,
    applied,
    total: Math.max(total, read),
    eventsPerSecond: read / Math.max(elapsed(), 1e-6),
  });
  return { applied, read, seconds: elapsed() };
}

function applyBatchShadow(
  pool: Pool,
  projection: Projection,
  events: ProjectedEvent[],
  key: string,
): Promise<number> {
  // The shadow has its own lock name: the live runner is not held up while it fills.
  return applyBatch(pool, projection, events, { ctx: shadowContext(), positionsKey: key, lockName: key });
}
