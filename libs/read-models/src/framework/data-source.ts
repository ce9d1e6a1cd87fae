import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import type { Pool } from 'pg';

export interface ReadModelDataSourceOptions {
  readonly url: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity classes
  readonly entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for migration classes
  readonly migrations: MixedList<Function | string>;
  readonly poolSize?: number;
}

/** The read models' TypeORM DataSource: entities for the query side, migrations for the schema. */
export function createReadModelDataSource(o: ReadModelDataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: o.url,
    entities: o.entities,
    migrations: o.migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    poolSize: o.poolSize ?? 5,
    synchronize: false,
    logging: false,
  });
}

/** Runs TypeORM's migrations under an advisory lock, so instances starting together take turns. */
export async function runReadModelMigrations(dataSource: DataSource, pool: Pool): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('hyperfleet-read-model-migrations'))`);
    // TypeORM keeps its migrations table in the default schema: make sure rm exists first.
    await client.query('CREATE SCHEMA IF NOT EXISTS rm');
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await client
      .query(`SELECT pg_advisory_unlock(hashtext('hyperfleet-read-model-migrations'))`)
      .catch(() => undefined);
    client.release();
  }
}
