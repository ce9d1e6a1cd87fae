import { Pool } from 'pg';
import { redact } from '../config/config';

/** A connection problem in words an operator can act on, instead of a driver stack trace. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`Cannot use PostgreSQL at ${redact(url)}: ${reason}`);
    this.name = 'DatabaseUnavailableError';
  }
}

export function describePgError(err: unknown): string {
  const e = err as { code?: string; message?: string; errno?: string; address?: string; port?: number };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is PostgreSQL running and listening on that host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case '28P01':
    case '28000':
      return 'authentication failed (check the user and password in DATABASE_URL)';
    case '3D000':
      return `${e.message ?? 'database does not exist'} (create it, or point DATABASE_URL at an existing one)`;
    case '57P03':
      return 'the server is starting up or shutting down';
    default:
      return e.message ?? String(err);
  }
}

/** A pool that survives its server going away. `acquireTimeoutMs: 0` waits for a connection forever. */
export function createPool(url: string, max = 10, acquireTimeoutMs = 10_000): Pool {
  const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: acquireTimeoutMs });
  // An idle client losing its server (restart, failover) must not crash the process.
  pool.on('error', () => undefined);
  // A client in use whose server goes away (shutdown, failover) errors its query; without a listener
  // its 'error' event would also crash the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Connects once and runs a trivial query, turning any failure into a DatabaseUnavailableError. */
export async function checkDatabase(pool: Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw new DatabaseUnavailableError(url, describePgError(err));
  }
}
