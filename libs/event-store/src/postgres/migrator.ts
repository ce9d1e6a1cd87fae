import type { Pool } from 'pg';
import type { Migration } from './migrations';

export interface MigrationReport {
  readonly applied: readonly { version: number; name: string }[];
  readonly current: number;
}

/**
 * Applies pending migrations of one migration set. Concurrent runners (several app instances
 * starting at once) serialise on an advisory lock, so running it twice is always safe.
 */
export async function runMigrations(
  pool: Pool,
  set: { name: string; migrations: readonly Migration[] },
): Promise<MigrationReport> {
  const client = await pool.connect();
  const lockKey = hashKey(`hyperfleet-migrations:${set.name}`);
  const applied: { version: number; name: string }[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS hf`);
    await client.query(`CREATE TABLE IF NOT EXISTS hf.schema_migrations (
      migration_set text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (migration_set, version))`);
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM hf.schema_migrations WHERE migration_set = $1',
      [set.name],
    );
    const done = new Set(rows.map((r) => Number(r.version)));
    for (const m of [...set.migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          'INSERT INTO hf.schema_migrations (migration_set, version, name) VALUES ($1, $2, $3)',
          [set.name, m.version, m.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${set.name} #${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
      applied.push({ version: m.version, name: m.name });
    }
    const current = Math.max(0, ...set.migrations.map((m) => m.version));
    return { applied, current };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    client.release();
  }
}

function hashKey(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}
