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
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
