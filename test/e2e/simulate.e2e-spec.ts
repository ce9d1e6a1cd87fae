import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { AppProcess, embeddedEnv, freePort } from '@hyperfleet/testing';
import { FLEET, embeddedDataDir, noStackTrace, postgresProcessesFor } from './all-in-one';

const DEVICES = 5;
const ids = Array.from({ length: DEVICES }, (_, i) => `sim-${String(i).padStart(5, '0')}`);

/** Event types per hypervisor stream of the simulated devices, in stream order. */
async function hypervisorStreams(db: Client): Promise<Record<string, string[]>> {
  const { rows } = await db.query<{ stream_id: string; types: string[] }>(
    `SELECT stream_id, array_agg(event_type ORDER BY stream_position) AS types
       FROM hf.events WHERE stream_id LIKE 'hypervisor-sim-%' GROUP BY stream_id ORDER BY stream_id`,
  );
  return Object.fromEntries(rows.map((r) => [r.stream_id, r.types]));
}

/** Polls `probe` until it returns a value (not undefined), or fails with the last reason. */
async function eventually<T>(ms: number, probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The admin key the app wrote on its first start (HF_DATA_DIR/admin-api-key); the API needs a credential. */
let adminKeyFile = '';
const getJson = async <T>(url: string): Promise<{ status: number; body: T }> => {
  const key = fs.readFileSync(adminKeyFile, 'utf8').trim();
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as T };
};

interface DeviceList {
  items: { id: string; connectivity: { online: boolean } }[];
}
interface SchedulingView {
  rtPinning: unknown[];
  board: { pcpus: number };
}
interface OtaView {
  deviceId: string;
  targets?: { target: string; reportedVersion: string | null }[];
}
interface Rollups {
  series: { points: { samples: number }[] }[];
}
interface SloView {
  fleet?: { devices: number; rtVms: number; minutes: number };
}

describe('npm start -- --simulate N: the all-in-one with a simulated fleet', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = embeddedDataDir('hf-simulate-');
    adminKeyFile = path.join(dataDir, 'admin-api-key');
  });

  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (args: string[]) => {
    const [http, pg, mqtt] = [await freePort(), await freePort(), await freePort()];
    const app = new AppProcess(
      FLEET,
      embeddedEnv({
        HF_DATA_DIR: dataDir,
        HTTP_PORT: String(http),
        EMBEDDED_PG_PORT: String(pg),
        EMBEDDED_MQTT_PORT: String(mqtt),
      }),
      args,
    );
    await app.waitFor(new RegExp(`all ${DEVICES} devices online`), 120_000);
    // The embedded server's fixed account (the banner shows the URL with the password masked).
    const db = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pg}/hyperfleet` });
    // The app may stop its PostgreSQL while this client is still connected.
    db.on('error', () => undefined);
    await db.connect();
    return { app, db, http, mqtt };
  };

  it('provisions the devices through the API, registers them, and stops them cleanly on Ctrl-C', async () => {
    const { app, db, http, mqtt } = await start([
      '--simulate',
      String(DEVICES),
      '--telemetry-interval=1s',
      '--health-interval=2s',
      '--summary-interval',
      '1s',
      // Nothing random that could take a device offline while the test looks.
      '--reconnect-prob',
      '0',
      '--vm-churn-prob=0',
      '--triple-fault-prob=0',
    ]);
    try {
      expect(app.stdout).toContain(`→ mqtt://127.0.0.1:${mqtt}`);
      expect(app.stdout).toContain(`Provisioned ${DEVICES} devices`);
      expect(app.stdout).toContain(`${DEVICES} new, 0 known from an earlier run`);
      // The backend's own view, from the gateway's session table.
      await app.waitFor(new RegExp(`backend .*devices online ${DEVICES}/${DEVICES}`), 30_000);
      // The simulator's progress line (every 5 s in a log), with every birth accepted.
      await app.waitFor(new RegExp(`fleet-sim .*online ${DEVICES}/${DEVICES}`), 30_000);

      // Provisioned through the real path: DeviceProvisioned, then an active credential.
      const streams = await hypervisorStreams(db);
      expect(Object.keys(streams)).toEqual(ids.map((id) => `hypervisor-${id}`));
      for (const types of Object.values(streams)) {
        expect(types[0]).toBe('DeviceProvisioned');
        expect(types).toContain('DeviceWentOnline');
        expect(types).toContain('BoardInventoryReported');
      }
      const creds = await db.query(
        `SELECT device_id FROM hf.device_credentials WHERE revoked_at IS NULL ORDER BY device_id`,
      );
      expect(creds.rows.map((r) => r.device_id)).toEqual(ids);

      // The gateway accepted each birth (its reply is in the dedupe log; NULL: a plain acceptance)
      // and sees each device online.
      const births = await db.query(
        `SELECT DISTINCT device_id FROM hf.device_messages
          WHERE kind = 'birth' AND (reply IS NULL OR reply->>'status' = 'accepted') ORDER BY device_id`,
      );
      expect(births.rows.map((r) => r.device_id)).toEqual(ids);
      const sessions = await db.query(
        `SELECT device_id FROM hf.device_sessions WHERE online AND registered ORDER BY device_id`,
      );
      expect(sessions.rows.map((r) => r.device_id)).toEqual(ids);
      const serviceVms = await db.query(
        `SELECT count(*)::int AS n FROM hf.streams WHERE stream_id LIKE 'service-vm-sim-%'`,
      );
      expect(serviceVms.rows[0].n).toBe(DEVICES);

      expect((await fetch(`http://127.0.0.1:${http}/health`)).status).toBe(200);

      // Through the API, the read models fill up within seconds: inventory, scheduling policy, OTA
      // status, telemetry rollups and the latency SLO view.
      const api = `http://127.0.0.1:${http}/api/v1`;
      const started = Date.now();
      const fleet = await eventually(
        15_000,
        async () => {
          const { body } = await getJson<DeviceList>(`${api}/devices?limit=100`);
          const items = body.items;
          return items.length === DEVICES && items.every((d) => d.connectivity.online) ? items : undefined;
        },
        'the fleet inventory lists every simulated device online',
      );
      expect(fleet.map((d) => d.id)).toEqual(ids);
      for (const id of ids) {
        const scheduling = await eventually(
          15_000,
          async () => {
            const { status, body } = await getJson<SchedulingView>(`${api}/scheduling/devices/${id}`);
            // A device may run without reporting a plan; its RT VMs' pinning is known either way.
            return status === 200 && body.board.pcpus > 0 && body.rtPinning.length > 0 ? body : undefined;
          },
          `the scheduling policy of ${id}`,
        );
        expect(scheduling.board.pcpus).toBeGreaterThanOrEqual(4);
        const ota = await eventually(
          15_000,
          async () => {
            const { status, body } = await getJson<OtaView>(`${api}/ota/devices/${id}`);
            const hv = (body.targets ?? []).find((t) => t.target === 'hypervisor');
            return status === 200 && hv?.reportedVersion ? body : undefined;
          },
          `the OTA status of ${id}`,
        );
        expect(ota.deviceId).toBe(id);
        await eventually(
          20_000,
          async () => {
            const { body } = await getJson<Rollups>(`${api}/telemetry/rollups?deviceId=${id}&bucket=1m`);
            const samples = body.series.flatMap((s) => s.points).reduce((n, pt) => n + pt.samples, 0);
            return samples > 0 ? samples : undefined;
          },
          `telemetry rollups of ${id}`,
        );
      }
      // "Within seconds" of every device being online (generous for a loaded CI machine).
      expect(Date.now() - started).toBeLessThan(30_000);
      // The SLO view counts completed minutes only: it fills at the next minute boundary.
      const slo = await eventually(
        90_000,
        async () => {
          const { body } = await getJson<SloView>(`${api}/slo/latency?window=1h`);
          return body.fleet?.devices === DEVICES && body.fleet.rtVms > 0 ? body.fleet : undefined;
        },
        'the fleet latency SLO view',
      );
      expect(slo.minutes).toBeGreaterThan(0);
    } catch (err) {
      // Not left running (and holding the data folder) for the next test.
      await db.end();
      await app.stop();
      throw err;
    }
    await db.end();

    expect(await app.stop()).toBe(0);
    // The simulator stops first, while the gateway still answers its goodbyes; then the app.
    const out = app.stdout;
    expect(out).toContain('Stopping the simulated fleet');
    expect(out).toMatch(/Simulated fleet stopped in .*: 0 still online/);
    expect(out.indexOf('Simulated fleet stopped')).toBeLessThan(out.indexOf('Stopped.'));
    expect(postgresProcessesFor(dataDir)).toEqual([]);
    noStackTrace(app.stderr);
  }, 240_000);

  it('a second run on the same data folder reuses the devices with new credentials', async () => {
    const { app, db } = await start(['--simulate', String(DEVICES), '--reconnect-prob', '0']);
    try {
      expect(app.stdout).toContain(`0 new, ${DEVICES} known from an earlier run (credential rotated)`);
      const streams = await hypervisorStreams(db);
      expect(Object.keys(streams)).toEqual(ids.map((id) => `hypervisor-${id}`));
      for (const types of Object.values(streams)) {
        // Provisioned once; the first run's clean stop said offline; this run's birth said online again.
        expect(types.filter((t) => t === 'DeviceProvisioned')).toHaveLength(1);
        expect(types).toContain('DeviceWentOffline');
        expect(types.lastIndexOf('DeviceWentOnline')).toBeGreaterThan(types.lastIndexOf('DeviceWentOffline'));
      }
      const rotated = await db.query(
        `SELECT count(*)::int AS n FROM hf.device_credentials WHERE rotated_at IS NOT NULL AND revoked_at IS NULL`,
      );
      expect(rotated.rows[0].n).toBe(DEVICES);
    } finally {
      await db.end();
    }
    app.signal('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
    noStackTrace(app.stderr);
  });
});

describe('npm start -- with a bad command line', () => {
  const run = async (args: string[]) => {
    const app = new AppProcess(FLEET, embeddedEnv({ HTTP_PORT: String(await freePort()) }), args);
    return { code: await app.exited, stderr: app.stderr };
  };

  it('a device count that is not a number gives one readable line and exit code 2', async () => {
    const { code, stderr } = await run(['--simulate', 'fifty']);
    expect(code).toBe(2);
    expect(stderr).toContain('invalid command line');
    expect(stderr).toContain('--simulate takes a whole number ≥ 1, e.g. --simulate 50');
    noStackTrace(stderr);
  });

  it('a simulator option that is not a number, or without --simulate, is refused', async () => {
    const bad = await run(['--simulate=5', '--reconnect-prob', 'often']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--reconnect-prob takes a probability between 0 and 1');
    const stray = await run(['--seed', '7']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--seed only applies to a simulated fleet');
  });
});
