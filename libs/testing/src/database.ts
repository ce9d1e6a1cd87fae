import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server the integration tests use (set by test/setup/global-setup.js). */
export function testAdminUrl(): string {
  const url = process.env.HF_TEST_ADMIN_URL ?? process.env.DATABASE_URL;
  if (!url)
    throw new Error('HF_TEST_ADMIN_URL is not set: run the tests through jest (global setup provides it)');
  return url;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database per test file, so suites can run in parallel without sharing state. */
export async function createTestDatabase(prefix = 'hf_test'): Promise<TestDatabase> {
  const admin = new URL(testAdminUrl());
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        // A pool's end() resolves before its sockets have closed: give the backends a moment to go on
        // their own, or FORCE terminates them and their clients report it as an unhandled error.
        for (let i = 0; i < 40; i++) {
          const { rows } = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`,
            [name],
          );
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
