import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { Pool } from 'pg';
import { runMigrations } from '@hyperfleet/event-store';
import {
  createTestDatabase,
  freePort,
  hasMosquitto,
  spawnMosquitto,
  type SpawnedMosquitto,
  type TestDatabase,
} from '@hyperfleet/testing';
import { runMosquittoConfig } from '../../../fleetctl/src/commands/mosquitto-config';
import { DeviceCredentialStore, type IssuedCredential } from './credential-store';
import type { MosquittoConfigReport } from './mosquitto-config';
import { IDENTITY_MIGRATION_SET } from './migrations';
import { connectOk, recorder, sleep, subscribeGranted, tryConnect, waitFor } from './mqtt-test-clients';

if (!hasMosquitto() && process.env.CI === 'true')
  throw new Error('CI=true but the mosquitto binary is missing');
const describeMosquitto = hasMosquitto() ? describe : describe.skip;
if (!hasMosquitto()) console.warn('SKIPPED: no mosquitto binary on PATH (apt-get install mosquitto)');

const GATEWAY_PASSWORD = 'gateway-secret-for-tests';

describeMosquitto('fleetctl mosquitto-config against a real Mosquitto 2', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dir: string;
  let report: MosquittoConfigReport;
  let mosquitto: SpawnedMosquitto;
  let devicePort: number;
  let gatewayPort: number;
  let deviceUrl: string;
  let gatewayUrl: string;
  const creds: Record<string, IssuedCredential> = {};
  const clients: MqttClient[] = [];

  const device = async (id: string, extra: Parameters<typeof connectOk>[1] = {}) => {
    const c = creds[id];
    const client = await connectOk(deviceUrl, {
      clientId: id,
      username: c.username,
      password: c.password,
      ...extra,
    });
    clients.push(client);
    return client;
  };
  const gatewayClient = async (clientId: string) => {
    const client = await connectOk(gatewayUrl, {
      clientId,
      username: 'hyperfleet-gateway',
      password: GATEWAY_PASSWORD,
      protocolVersion: 5,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase('hf_mosquitto');
    pool = new Pool({ connectionString: db.url, max: 2 });
    await runMigrations(pool, IDENTITY_MIGRATION_SET);
    const store = new DeviceCredentialStore(pool);
    for (const id of ['dev-1', 'dev-2', 'dev-3', 'ipc:7']) creds[id] = await store.issue(id);
    await store.revoke('dev-3');

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-mosquitto-'));
    [devicePort, gatewayPort] = [await freePort(), await freePort()];
    deviceUrl = `mqtt://127.0.0.1:${devicePort}`;
    gatewayUrl = `mqtt://127.0.0.1:${gatewayPort}`;
    report = await runMosquittoConfig(
      {
        out: dir,
        port: devicePort,
        bind: '127.0.0.1',
        gatewayPort,
        // As root, mosquitto drops to `mosquitto` before reading passwd (0640, ours): keep it root here.
        ...(process.getuid?.() === 0 ? { user: 'root' } : {}),
      },
      { ...process.env, DATABASE_URL: db.url, MQTT_GATEWAY_PASSWORD: GATEWAY_PASSWORD },
    );

    mosquitto = await spawnMosquitto(report.files.conf, [devicePort, gatewayPort]);
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await mosquitto?.stop('SIGTERM');
    await pool?.end();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes every active device and the gateway account into passwd, with the stored hashes', () => {
    expect(report).toMatchObject({ devices: 2, skipped: ['ipc:7'], gatewayPassword: 'given' });
    const passwd = fs.readFileSync(report.files.passwd, 'utf8');
    expect(
      passwd
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[0]),
    ).toEqual(['dev-1', 'dev-2', 'hyperfleet-gateway']);
    expect(passwd).not.toContain(creds['dev-1'].password);
    expect(fs.statSync(report.files.passwd).mode & 0o777).toBe(0o640);
    const conf = fs.readFileSync(report.files.conf, 'utf8');
    expect(conf).toContain(`password_file ${dir}/passwd`);
    expect(conf).toContain(`acl_file ${dir}/acl`);
  });

  it('(a) refuses an unauthenticated client, a wrong password and a revoked device', async () => {
    // Mosquitto answers MQTT 3.1.1 refusals with CONNACK 5 (not authorised), MQTT 5 with 0x87.
    expect(await tryConnect(deviceUrl, { clientId: 'dev-1' })).toMatchObject({ ok: false, code: 5 });
    expect(await tryConnect(deviceUrl, { clientId: 'dev-1', protocolVersion: 5 })).toMatchObject({
      ok: false,
      code: 0x87,
    });
    const wrong = { clientId: 'dev-1', username: 'dev-1', password: creds['dev-2'].password };
    expect(await tryConnect(deviceUrl, wrong)).toMatchObject({ ok: false, code: 5 });
    const revoked = { clientId: 'dev-3', username: 'dev-3', password: creds['dev-3'].password };
    expect(await tryConnect(deviceUrl, revoked)).toMatchObject({ ok: false, code: 5 });
    const colon = { clientId: 'ipc:7', username: 'ipc:7', password: creds['ipc:7'].password };
    expect(await tryConnect(deviceUrl, colon)).toMatchObject({ ok: false });
    expect(await tryConnect(gatewayUrl, { clientId: 'x' })).toMatchObject({ ok: false, code: 5 });
  });

  it('(b) lets a device with the password it was issued connect, over MQTT 3.1.1 and 5', async () => {
    (await device('dev-1')).end();
    (await device('dev-1', { protocolVersion: 5 })).end();
  });

  it("(c) never delivers a device's publication on another device's topic; MQTT 5 gets PUBACK 0x87", async () => {
    const gw = await gatewayClient('hyperfleet-gateway-c');
    const seen = recorder(gw);
    expect(await subscribeGranted(gw, ['$share/hyperfleet-gateway/hf/v1/+/vm-state'])).toEqual([1]);

    const v5 = await device('dev-1', { protocolVersion: 5 });
    const refused = await v5.publishAsync('hf/v1/dev-2/vm-state', 'forged v5', { qos: 1 }).then(
      () => undefined,
      (err: { code?: number }) => err.code,
    );
    expect(refused).toBe(0x87); // not authorized
    await v5.endAsync();

    // MQTT 3.1.1 has no negative PUBACK: Mosquitto acknowledges and drops the message.
    const v4 = await device('dev-1');
    await v4.publishAsync('hf/v1/dev-2/vm-state', 'forged v3.1.1', { qos: 1 });
    await v4.publishAsync('hf/v1/dev-1/vm-state', 'sentinel', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'sentinel'), 5000, 'the sentinel');
    expect(seen.map((m) => m.payload)).toEqual(['sentinel']);
    await v4.endAsync();
    await gw.endAsync();
  });

  it('(c2) the forbidden-publish rule: own reply, desired, cmd/… and topics outside hf/v1 are dropped; the connection stays', async () => {
    const gw = await gatewayClient('hyperfleet-gateway-c2');
    const seen = recorder(gw);
    expect(await subscribeGranted(gw, ['$share/hyperfleet-gateway/hf/v1/+/status'])).toEqual([1]);
    const dev = await device('dev-2');
    const own = recorder(dev);
    await dev.subscribeAsync(['hf/v1/dev-2/reply', 'hf/v1/dev-2/desired', 'hf/v1/dev-2/cmd/+'], { qos: 1 });
    // MQTT 3.1.1: acknowledged and dropped (no negative PUBACK); the gateway never sees them, so no reply.
    for (const topic of ['hf/v1/dev-2/reply', 'hf/v1/dev-2/desired', 'hf/v1/dev-2/cmd/reboot', 'plant/x']) {
      await dev.publishAsync(topic, `forbidden ${topic}`, { qos: 1 });
    }
    await dev.publishAsync('hf/v1/dev-2/status', 'sentinel', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'sentinel'), 5000, 'the sentinel');
    await sleep(300);
    expect(seen.map((m) => m.payload)).toEqual(['sentinel']);
    expect(own).toEqual([]);
    expect(dev.connected).toBe(true);
    await Promise.all([dev.endAsync(), gw.endAsync()]);
  });

  it("(d) a device subscribed to another device's reply topic never receives its replies", async () => {
    const snoop = await device('dev-1');
    const snooped = recorder(snoop);
    // Mosquitto 2.0 grants the SUBACK and checks read access on every delivery instead.
    await subscribeGranted(snoop, ['hf/v1/dev-2/reply', 'hf/v1/+/reply', '#']);
    const target = await device('dev-2');
    const received = recorder(target);
    await target.subscribeAsync('hf/v1/dev-2/reply', { qos: 1 });

    const gw = await gatewayClient('hyperfleet-gateway-d');
    await gw.publishAsync('hf/v1/dev-2/reply', 'for dev-2', { qos: 1 });
    await waitFor(() => received.length > 0, 5000, "dev-2's reply");
    await sleep(300);
    expect(received.map((m) => m.payload)).toEqual(['for dev-2']);
    expect(snooped).toEqual([]);
    await Promise.all([snoop.endAsync(), target.endAsync(), gw.endAsync()]);
  });

  it('(e) the gateway account subscribes with $share: two connections share the device traffic', async () => {
    const a = await gatewayClient('hyperfleet-gateway-e-0');
    const b = await gatewayClient('hyperfleet-gateway-e-1');
    const seenA = recorder(a);
    const seenB = recorder(b);
    for (const c of [a, b]) {
      expect(await subscribeGranted(c, ['$share/hyperfleet-gateway/hf/v1/+/birth'])).toEqual([1]);
    }
    const dev = await device('dev-2');
    for (let i = 0; i < 10; i++) await dev.publishAsync('hf/v1/dev-2/birth', `birth ${i}`, { qos: 1 });
    await waitFor(() => seenA.length + seenB.length === 10, 5000, 'ten births');
    await sleep(200);
    expect([...seenA, ...seenB].map((m) => m.payload).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `birth ${i}`).sort(),
    );
    // Both connections are still up: on the gateway listener each keeps its own client id.
    expect(a.connected && b.connected).toBe(true);
    await Promise.all([a.endAsync(), b.endAsync(), dev.endAsync()]);
  });

  it("on the device listener the client id is the username, so no device takes over another's session", async () => {
    const victim = await device('dev-2');
    const impostor = await connectOk(deviceUrl, {
      clientId: 'dev-2',
      username: 'dev-1',
      password: creds['dev-1'].password,
    });
    clients.push(impostor);
    await sleep(300);
    expect(victim.connected).toBe(true);
    // The impostor's session is dev-1's: the real dev-1 connecting takes it over.
    const impostorClosed = new Promise<void>((r) => impostor.once('close', () => r()));
    const real = await device('dev-1');
    await impostorClosed;
    expect(real.connected && victim.connected).toBe(true);
    await Promise.all([victim.endAsync(), real.endAsync(), impostor.endAsync(true)]);
  });
});
