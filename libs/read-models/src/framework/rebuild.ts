import type { Pool, PoolClient } from 'pg';
import { LOG_START, readAllWith, type LogPosition } from '@hyperfleet/event-store';
import { applyEvents, inTransaction, lockProjection } from './apply';
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
export interface RebuildOptions {
  /** Events per read of the log (default 2,000). */
  readonly batchSize?: number;
  /**
   * Events per shadow transaction (default 20,000). Larger than a read: a device's events in one
   * transaction fold into one row update instead of several.
   */
  readonly fillSize?: number;
  readonly onProgress?: (p: RebuildProgress) => void;
}

export async function rebuildProjection(
  pool: Pool,
  projection: Projection,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const batchSize = options.batchSize ?? 2000;
  const fillSize = options.fillSize ?? Math.max(batchSize, 20_000);
  const guard = await pool.connect();
  try {
    const { rows: got } = await guard.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext($1)) AS ok`,
      [`projection-rebuild:${projection.name}`],
    );
    if (!got[0].ok) throw new RebuildAlreadyRunningError(projection.name);
  } catch (err) {
    guard.release();
    throw err;
  }
  try {
    return await rebuildUnderGuard(pool, projection, batchSize, fillSize, options.onProgress);
  } finally {
    await guard
      .query(`SELECT pg_advisory_unlock(hashtext($1))`, [`projection-rebuild:${projection.name}`])
      .catch(() => undefined);
    guard.release();
  }
}

/** Another rebuild of the same projection holds its shadow tables. */
export class RebuildAlreadyRunningError extends Error {
  readonly code = 'REBUILD_ALREADY_RUNNING';
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running`);
    this.name = 'RebuildAlreadyRunningError';
  }
}

async function rebuildUnderGuard(
  pool: Pool,
  projection: Projection,
  batchSize: number,
  fillSize: number,
  onProgress: ((p: RebuildProgress) => void) | undefined,
): Promise<RebuildResult> {
  const key = `${projection.name}#rebuild`;
  const ctx = shadowContext();
  const wants = wantsFilter(projection);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;

  await pool.query(`DELETE FROM rm.projection_positions WHERE projection = $1`, [key]);
  await pool.query(`DELETE FROM rm.projection_status WHERE projection = $1`, [key]);
  // Secondary indexes are built once at the end (a sort), not row by row: the fill writes only
  // what ON CONFLICT needs.
  const deferredIndexes: string[] = [];
  for (const t of projection.tables) {
    await pool.query(`DROP TABLE IF EXISTS ${ctx.table(t)}`);
    await pool.query(`CREATE TABLE ${ctx.table(t)} (LIKE ${READ_MODEL_SCHEMA}."${t}" INCLUDING ALL)`);
    // LIKE copies neither storage parameters (fillfactor) nor autovacuum settings.
    const { rows: rel } = await pool.query<{ options: string[] | null }>(
      `SELECT reloptions AS options FROM pg_class WHERE oid = $1::regclass`,
      [`${READ_MODEL_SCHEMA}."${t}"`],
    );
    if (rel[0]?.options?.length) {
      await pool.query(`ALTER TABLE ${ctx.table(t)} SET (${rel[0].options.join(', ')})`);
    }
    const { rows: idx } = await pool.query<{ name: string; def: string }>(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i WHERE i.indrelid = $1::regclass AND NOT i.indisunique`,
      [ctx.table(t)],
    );
    for (const i of idx) {
      await pool.query(`DROP INDEX ${i.name}`);
      deferredIndexes.push(i.def);
    }
  }
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM hf.events WHERE $1::text[] IS NULL OR event_type = ANY($1::text[])`,
    [projection.handles === 'all' ? null : projection.handles],
  );
  const total = Number(rows[0].n);

  // The fill reads the log once, in order, from 0: nothing can arrive twice, so the per-stream
  // positions stay in memory and are stored with the swap. Reading goes on while a fill transaction
  // runs (one at a time: the projections depend on event order).
  const positions = new Map<string, number>();
  let last: ProjectedEvent | null = null;
  let position: LogPosition = LOG_START;
  let read = 0;
  let applied = 0;
  let pending: ProjectedEvent[] = [];
  // Independent events (each writes only its own rows) may fill on two connections at once.
  const concurrency = projection.independentEvents ? 2 : 1;
  const fills: Promise<void>[] = [];
  try {
    for (;;) {
      const batch = await readAllWith(pool, { after: position, batchSize });
      position = batch.position;
      for (const r of batch.events) {
        const e = fromRecorded(r);
        if (!wants(e.type)) continue;
        pending.push(e);
        read++;
      }
      if (pending.length >= fillSize || (!batch.maybeMore && pending.length)) {
        while (fills.length >= concurrency) await fills.shift();
        const events = pending;
        pending = [];
        for (const e of events) positions.set(e.streamId, e.streamPosition);
        last = events[events.length - 1];
        const filling = fillShadow(pool, projection, events).then(() => void (applied += events.length));
        filling.catch(() => undefined);
        fills.push(filling);
      }
      onProgress?.({ read, applied, total, eventsPerSecond: read / Math.max(elapsed(), 1e-6) });
      if (!batch.maybeMore) break;
    }
  } catch (err) {
    // Not while a fill still runs on another connection.
    await Promise.allSettled(fills);
    throw err;
  }
  await Promise.all(fills);
  for (const def of deferredIndexes) await pool.query(def);

  // The swap: under the projection's lock, catch up on what came in since, then trade places.
  await inTransaction(pool, async (client) => {
    await lockProjection(client, projection.name);
    await storeFill(client, key, positions, applied, last);
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
  });
  onProgress?.({
    read,
    applied,
    total: Math.max(total, read),
    eventsPerSecond: read / Math.max(elapsed(), 1e-6),
  });
  return { applied, read, seconds: elapsed() };
}

/**
 * One shadow batch. Asynchronous commit: a crash mid-fill loses the shadow anyway (the next rebuild
 * starts from 0), and the swap's own commit is synchronous and flushes everything before it.
 */
function fillShadow(pool: Pool, projection: Projection, events: ProjectedEvent[]): Promise<void> {
  return inTransaction(pool, async (client) => {
    await client.query('SET LOCAL synchronous_commit = off');
    await projection.apply(events, client, shadowContext());
  });
}

async function storeFill(
  client: PoolClient,
  key: string,
  positions: Map<string, number>,
  applied: number,
  last: ProjectedEvent | null,
): Promise<void> {
  const entries = [...positions.entries()];
  for (let i = 0; i < entries.length; i += 10_000) {
    const chunk = entries.slice(i, i + 10_000);
    await client.query(
      `INSERT INTO rm.projection_positions (projection, stream_id, position)
       SELECT $1, s, p FROM unnest($2::text[], $3::bigint[]) AS x(s, p)`,
      [key, chunk.map(([s]) => s), chunk.map(([, p]) => p)],
    );
  }
  if (last) {
    await client.query(
      `INSERT INTO rm.projection_status (projection, events_applied, last_log_position, last_event_at, updated_at)
       VALUES ($1, $2, $3, $4, now())`,
      [key, applied, last.logPosition, last.time],
    );
  }
}
