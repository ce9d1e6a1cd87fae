/**
 * Issue 9 end to end, through the doors a user has: the built all-in-one (`npm start -- --simulate 4`)
 * with simulated ACRN devices on their own MQTT connections, driven by `fleetctl` (a child process)
 * and plain HTTP — never the CommandBus. Credentials come from the bootstrap admin key the first
 * start writes to HF_DATA_DIR; named keys are created with fleetctl.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateDeviceSpec } from '@hyperfleet/fleet-sim';
import {
  AppProcess,
  createTestDatabase,
  embeddedEnv,
  freePort,
  type TestDatabase,
} from '@hyperfleet/testing';
import { FLEET, noStackTrace } from './all-in-one';

const DEVICES = 4;
const SEED = 7;
const ids = Array.from({ length: DEVICES }, (_, i) => `sim-${String(i).padStart(5, '0')}`);
const FLEETCTL = 'dist/apps/fleetctl/src/main.js';

// Response bodies are read loosely in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function eventually<T>(ms: number, probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (${String(last ?? '')})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('operator write side through fleetctl and HTTP (all-in-one, simulated fleet)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let app: AppProcess;
  let api: string;
  let admin: string;
  const keys: Record<string, string> = {};

  const fleetctl = (key: string | null, ...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [FLEETCTL, ...args], {
        env: {
          PATH: process.env.PATH,
          FLEET_API_URL: api,
          FLEETCTL_CONFIG: path.join(dataDir, 'no-such-fleetctl.json'),
          ...(key ? { HF_API_KEY: key } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  const http = async (key: string | null, method: string, url: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${api}${url}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  };

  const json = (r: Run): Json => {
    try {
      return JSON.parse(r.stdout) as Json;
    } catch {
      throw new Error(`fleetctl printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('operator_e2e');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-operator-'));
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${httpPort}`;
    app = new AppProcess(
      FLEET,
      // The test database, and otherwise a laptop's defaults: aedes in process, the PostgreSQL log.
      embeddedEnv({
        DATABASE_URL: db.url,
        HF_DATA_DIR: dataDir,
        HTTP_PORT: String(httpPort),
        EMBEDDED_MQTT_PORT: String(mqttPort),
        LOG_LEVEL: 'warn',
      }),
      [
        '--simulate',
        String(DEVICES),
        '--seed',
        String(SEED),
        '--reconnect-prob',
        '0',
        '--vm-churn-prob=0',
        '--triple-fault-prob=0',
      ],
    );
    await app.waitFor(new RegExp(`all ${DEVICES} devices online`), 120_000);
    admin = fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
    // The fleet inventory has every device before the tests look.
    await eventually(
      30_000,
      async () => {
        const { body } = await http(admin, 'GET', '/api/v1/devices?limit=100');
        return body.items?.length === DEVICES ? true : undefined;
      },
      'the inventory lists the simulated fleet',
    );
  }, 180_000);

  afterAll(async () => {
    if (app) {
      await app.stop();
      noStackTrace(app.stderr);
    }
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the first start wrote an admin key; with it fleetctl creates named keys, shown once', async () => {
    expect(app.stdout + app.stderr).toContain('admin-api-key');
    for (const [name, role] of [
      ['ops', 'operator'],
      ['watcher', 'viewer'],
    ]) {
      const r = await fleetctl(admin, 'keys', 'create', name, '--role', role, '--json');
      expect(r.code).toBe(0);
      const created = json(r);
      expect(created.apiKey).toMatchObject({ name, role });
      keys[name] = created.key as string;
    }
    const list = json(await fleetctl(admin, 'keys', 'list', '--json'));
    expect(JSON.stringify(list)).not.toContain(keys.ops);
    // No credential, a made-up one, and a viewer acting: refused with a code, never a crash.
    expect((await http(null, 'GET', '/api/v1/devices')).body.code).toBe('UNAUTHENTICATED');
    expect((await http('hf_nope_nope', 'GET', '/api/v1/devices')).status).toBe(401);
    expect((await http(keys.watcher, 'GET', '/api/v1/devices')).status).toBe(200);
    const denied = await fleetctl(keys.watcher, 'service-vm', 'reboot', ids[0]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('PERMISSION_DENIED');
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an operator stops and starts an RT VM with fleetctl --wait; the agent answers and the VM state follows', async () => {
    // A post-launched RTVM that runs (acrnctl manages post-launched VMs only).
    const { deviceId, vm } = await eventually(
      30_000,
      async () => {
        for (const id of ids) {
          const { body } = await http(keys.ops, 'GET', `/api/v1/devices/${id}`);
          const found = (body.vms ?? []).find(
            (v: Json) => v.vmType === 'RTVM' && v.loadOrder === 'POST_LAUNCHED_VM' && v.state === 'started',
          );
          if (found) return { deviceId: id, vm: found.name as string };
        }
        return undefined;
      },
      'a running post-launched RT VM',
    );

    const stop = await fleetctl(keys.ops, 'vm', 'stop', deviceId, vm, '--wait', '--json');
    expect(stop.code).toBe(0);
    const stopped = json(stop);
    expect(stopped).toMatchObject({ deviceId, name: 'stop-vm', status: 'succeeded' });
    expect(stopped.sentAt).toBeTruthy();
    expect(stopped.completedAt).toBeTruthy();
    await eventually(
      15_000,
      async () => {
        const { body } = await http(keys.ops, 'GET', `/api/v1/devices/${deviceId}`);
        return body.vms.find((v: Json) => v.name === vm)?.state === 'stopped' ? true : undefined;
      },
      `${vm} reported stopped`,
    );

    // Stopping it again is refused by the domain: a 4xx code, the command recorded as rejected, exit 2.
    const again = await fleetctl(keys.ops, 'vm', 'stop', deviceId, vm);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/[A-Z_]{6,}/);

    const start = await fleetctl(keys.ops, 'vm', 'start', deviceId, vm, '--wait', '--json');
    expect(start.code).toBe(0);
    const started = json(start);
    expect(started.status).toBe('succeeded');
    const shown = json(await fleetctl(keys.watcher, 'commands', 'show', started.commandId, '--json'));
    expect(shown).toMatchObject({ commandId: started.commandId, status: 'succeeded' });
    expect(shown.actor).toMatchObject({ subject: 'ops', credentialKind: 'api-key' });

    // The device's commands, newest first, both there.
    const { body: list } = await http(keys.ops, 'GET', `/api/v1/devices/${deviceId}/commands`);
    const mine = list.items.map((c: Json) => c.commandId);
    expect(mine).toEqual(expect.arrayContaining([stopped.commandId, started.commandId]));
  }, 120_000);

  it('Idempotency-Key: a retried POST gets the first answer; the same key with another body is 422', async () => {
    const key = `e2e-${Date.now()}`;
    const url = `/api/v1/devices/${ids[1]}/service-vm:reboot`;
    const first = await http(keys.ops, 'POST', url, { reason: 'e2e' }, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const replay = await http(keys.ops, 'POST', url, { reason: 'e2e' }, { 'idempotency-key': key });
    expect(replay.status).toBe(202);
    expect(replay.body.commandId).toBe(first.body.commandId);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const reused = await http(keys.ops, 'POST', url, { reason: 'other' }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // That reboot runs to its end (the agent acks after the next birth).
    const done = json(await fleetctl(keys.ops, 'commands', 'show', first.body.commandId, '--wait', '--json'));
    expect(done.status).toBe('succeeded');
  }, 120_000);

  it('a bulk reboot over the fleet shows per-state counts and ends with every device succeeded', async () => {
    const args = ids.flatMap((id) => ['--device', id]);
    const r = await fleetctl(keys.ops, 'commands', 'bulk', 'service-vm.reboot', ...args, '--wait', '--json');
    expect(r.code).toBe(0);
    const batch = json(r);
    expect(batch.total).toBe(DEVICES);
    expect(batch.counts.succeeded).toBe(DEVICES);
    // Without --json, a progress line: the counts by state.
    expect(r.stderr).not.toContain('Error');
  }, 180_000);

  it('plan import → validate → assign → the device receives the desired plan, runs it, and the drift view shows it in sync', async () => {
    const deviceId = ids[2];
    const spec = generateDeviceSpec(SEED, 2, deviceId);
    const file = path.join(dataDir, 'plan.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ planId: 'e2e-plan', deviceClass: spec.deviceClass, plan: spec.plan }),
    );

    // Checked against the board the device reports: what the assignment will check.
    const valid = await fleetctl(keys.ops, 'plans', 'validate', '--file', file, '--device', deviceId);
    expect(valid).toMatchObject({ code: 0 });
    expect(valid.stdout).toContain(`as ${deviceId} reports it`);
    const created = await fleetctl(keys.ops, 'plans', 'create', '--file', file, '--json');
    expect(created).toMatchObject({ code: 0 });
    const xml = path.join(dataDir, 'e2e-plan.xml');
    const exported = await fleetctl(keys.ops, 'plans', 'export', 'e2e-plan', '--out', xml);
    expect(exported).toMatchObject({ code: 0 });
    expect(fs.readFileSync(xml, 'utf8')).toContain('<acrn-config');

    const assigned = await fleetctl(keys.ops, 'plans', 'assign', 'e2e-plan', '--device', deviceId, '--json');
    expect(assigned).toMatchObject({ code: 0 });
    // The desired document reaches the agent, which installs the hypervisor built from the plan,
    // reboots, and reports the plan in its next birth.
    const view = await eventually(
      90_000,
      async () => {
        const { body } = await http(keys.watcher, 'GET', `/api/v1/scheduling/devices/${deviceId}`);
        return body.planStatus === 'in-sync' && body.reported?.planId === 'e2e-plan' ? body : undefined;
      },
      `${deviceId} runs e2e-plan`,
    );
    expect(view.assigned).toMatchObject({ planId: 'e2e-plan', revision: 1 });
    expect(view.drift).toBe(false);
  }, 150_000);

  it('the audit trail names the operator of each change; only an admin reads it', async () => {
    const r = await fleetctl(admin, 'audit', '--device', ids[1], '--json');
    expect(r).toMatchObject({ code: 0 });
    const entries = json(r) as unknown as Json[];
    expect(entries.map((e) => [e.eventType, e.actor?.subject])).toContainEqual([
      expect.stringMatching(/Reboot/),
      'ops',
    ]);
    const reboot = entries.find((e) => e.actor?.subject === 'ops' && /Reboot/.test(String(e.eventType)));
    expect(reboot?.requestId).toBeTruthy();
    const keyFacts = json(
      await fleetctl(admin, 'audit', '--action', 'ApiKeyCreated', '--json'),
    ) as unknown as Json[];
    expect(keyFacts.length).toBeGreaterThanOrEqual(2);
    const denied = await fleetctl(keys.ops, 'audit');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('PERMISSION_DENIED');
  });
});
