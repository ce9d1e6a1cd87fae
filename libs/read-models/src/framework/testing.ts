// Helpers for the read models' integration tests (not exported from the library).
import type { Pool } from 'pg';
import type { Projection } from '../framework/projection';

/**
 * Waits until the projection has applied every stored event it handles. waitUntilCaughtUp alone can
 * return early on a shared server: an older open transaction of another session holds the log's
 * visibility horizon (pg_snapshot_xmin) back, and an empty read then looks like the end.
 */
export async function projected(pool: Pool, projection: Projection, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM hf.events e
        WHERE e.event_type = ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM rm.projection_positions p
                           WHERE p.projection = $1 AND p.stream_id = e.stream_id AND p.position >= e.stream_position)`,
      [projection.name, projection.handles],
    );
    if (rows[0].n === 0) return;
    if (Date.now() > deadline) throw new Error(`${projection.name}: ${rows[0].n} events not projected`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until no event is hidden by the visibility horizon, so a read from position 0 reaches the head. */
export async function logVisible(pool: Pool, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM hf.events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
    );
    if (rows[0].n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} events still above the visibility horizon`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `check` until it returns true. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
