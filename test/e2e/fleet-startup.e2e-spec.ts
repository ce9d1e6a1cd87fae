import * as fs from 'node:fs';
import { AppProcess, embeddedEnv, freePort } from '@hyperfleet/testing';
import { FLEET, embeddedDataDir, noStackTrace, postgresProcessesFor } from './all-in-one';

describe('apps/fleet on embedded defaults (a fresh laptop)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = embeddedDataDir('hf-embedded-');
  });

  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const [http, pg, mqtt] = [await freePort(), await freePort(), await freePort()];
    const app = new AppProcess(
      FLEET,
      embeddedEnv({
        HF_DATA_DIR: dataDir,
        HTTP_PORT: String(http),
        EMBEDDED_PG_PORT: String(pg),
        EMBEDDED_MQTT_PORT: String(mqtt),
      }),
    );
    await app.waitFor(/Press Ctrl-C to stop/, 90_000);
    return { app, http, mqtt };
  };

  it('boots from nothing, reports every dependency on /health, and stops cleanly on Ctrl-C', async () => {
    const { app, http, mqtt } = await start();
    expect(app.stdout).toContain('initialised');
    expect(app.stdout).toContain(`http://127.0.0.1:${http}`);
    expect(app.stdout).toContain(`mqtt://127.0.0.1:${mqtt}`);
    expect(app.stdout).toMatch(/Event transport\s+PostgreSQL log/);

    const res = await fetch(`http://127.0.0.1:${http}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      status: 'ok',
      checks: {
        postgres: { status: 'up', detail: { mode: 'embedded' } },
        mqtt: { status: 'up', detail: { mode: 'embedded' } },
        eventTransport: { status: 'up', detail: { kind: 'postgres-log' } },
      },
    });
    expect(postgresProcessesFor(dataDir).length).toBeGreaterThan(0);

    expect(await app.stop()).toBe(0);
    expect(app.stdout).toContain('Stopped.');
    expect(postgresProcessesFor(dataDir)).toEqual([]);
    noStackTrace(app.stderr);
  });

  it('a second start reuses the data folder', async () => {
    const { app, http } = await start();
    expect(app.stdout).not.toContain('initialised');
    expect((await fetch(`http://127.0.0.1:${http}/health`)).status).toBe(200);
    app.signal('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  });

  it('recovers the data folder from a run that was killed outright', async () => {
    const { app } = await start();
    app.signal('SIGKILL');
    await app.exited;
    const { app: again, http } = await start();
    expect((await fetch(`http://127.0.0.1:${http}/health`)).status).toBe(200);
    expect(await again.stop()).toBe(0);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  });
});

describe('apps/fleet with a bad configuration', () => {
  it('a malformed DATABASE_URL gives one readable line and exit code 2', async () => {
    const app = new AppProcess(
      FLEET,
      embeddedEnv({ DATABASE_URL: 'mysql://root@db/hf', HTTP_PORT: String(await freePort()) }),
    );
    expect(await app.exited).toBe(2);
    expect(app.stderr).toContain('invalid configuration');
    expect(app.stderr).toContain('DATABASE_URL: scheme must be postgres:// or postgresql://');
    noStackTrace(app.stderr);
  });

  it('an unreachable DATABASE_URL says so, without a stack trace', async () => {
    const port = await freePort();
    const app = new AppProcess(
      FLEET,
      embeddedEnv({
        DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/hyperfleet`,
        HTTP_PORT: String(await freePort()),
        EMBEDDED_MQTT_PORT: String(await freePort()),
      }),
    );
    expect(await app.exited).toBe(1);
    expect(app.stderr).toContain(
      `Cannot use PostgreSQL at postgres://postgres:***@127.0.0.1:${port}/hyperfleet`,
    );
    expect(app.stderr).toContain('connection refused');
    expect(app.stderr).not.toContain('hunter2');
    noStackTrace(app.stderr);
  });
});
