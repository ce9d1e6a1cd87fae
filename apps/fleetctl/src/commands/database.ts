import { Pool } from 'pg';
import { checkDatabase, loadConfig, startInfrastructure, type HyperfleetConfig } from '@hyperfleet/platform';

/**
 * Runs `fn` with a pool on DATABASE_URL, or on the embedded PostgreSQL of HF_DATA_DIR when it is unset
 * (started for the command and stopped after it), like `fleetctl migrate`.
 */
export async function withDatabase<T>(
  fn: (pool: Pool, ctx: { config: HyperfleetConfig; databaseUrl: string }) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const config = loadConfig(env);
  const infra = await startInfrastructure(config, { needsMqtt: false, embeddedPostgres: 'share' });
  const pool = new Pool({ connectionString: infra.databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  try {
    await checkDatabase(pool, infra.databaseUrl);
    return await fn(pool, { config, databaseUrl: infra.databaseUrl });
  } finally {
    await pool.end();
    await infra.stop();
  }
}
