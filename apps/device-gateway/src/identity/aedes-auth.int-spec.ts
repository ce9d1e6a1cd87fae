import type { MqttClient } from 'mqtt';
import { Pool } from 'pg';
import { GATEWAY_SUBSCRIPTIONS } from '@hyperfleet/contracts';
import { runMigrations } from '@hyperfleet/event-store';
import { EmbeddedMqttBroker } from '@hyperfleet/platform';
import { createTestDatabase, freePort, type TestDatabase } from '@hyperfleet/testing';
import { CONNACK, installAedesAuth, type AedesAuth } from './aedes-auth';
import { DeviceCredentialStore, type IssuedCredential } from './credential-store';
import { IDENTITY_MIGRATION_SET } from './migrations';
import {
  closed,
  connectOk,
  recorder,
  sleep,
  subscribeGranted,
  tryConnect,
  waitFor,
} from './mqtt-test-clients';

const GATEWAY = { username: 'hyperfleet-gateway', password: 'gateway-secret' };

describe('aedes with the device identity hooks (real broker, real clients, PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: DeviceCredentialStore;
  let broker: EmbeddedMqttBroker;
  let auth: AedesAuth;
  let url: string;
  let dev1: IssuedCredential;
  let dev2: IssuedCredential;
  let gateway: MqttClient;
  let gatewaySeen: { topic: string; payload: string }[];
  const clients: MqttClient[] = [];
  const logLines: string[] = [];

  const device = async (c: IssuedCredential, extra: Parameters<typeof connectOk>[1] = {}) => {
    const client = await connectOk(url, {
      clientId: c.deviceId,
      username: c.username,
      password: c.password,
      ...extra,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase('hf_aedes_auth');
    pool = new Pool({ connectionString: db.url, max: 4 });
    await runMigrations(pool, IDENTITY_MIGRATION_SET);
    store = new DeviceCredentialStore(pool, { reservedUsernames: [GATEWAY.username] });
    dev1 = await store.issue('dev-1');
    dev2 = await store.issue('dev-2');

    broker = new EmbeddedMqttBroker({ host: '127.0.0.1', port: await freePort() });
    await broker.start();
    url = broker.url;
    auth = installAedesAuth(broker.aedes!, store, { gateway: GATEWAY, log: (l) => logLines.push(l) });

    gateway = await connectOk(url, { clientId: 'hyperfleet-gateway-test', ...GATEWAY });
    gatewaySeen = recorder(gateway);
    const granted = await gateway.subscribeAsync([...GATEWAY_SUBSCRIPTIONS], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual(GATEWAY_SUBSCRIPTIONS.map(() => 1));
  });

  afterAll(async () => {
    for (const c of [...clients, gateway]) await c?.endAsync(true).catch(() => undefined);
    await broker?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('refuses a client without username or password: CONNACK 4 (bad username or password)', async () => {
    const anonymous = await tryConnect(url, { clientId: 'dev-1' });
    expect(anonymous).toMatchObject({ ok: false, code: CONNACK.BAD_USERNAME_OR_PASSWORD });
    const noPassword = await tryConnect(url, { clientId: 'dev-1', username: 'dev-1' });
    expect(noPassword).toMatchObject({ ok: false, code: CONNACK.BAD_USERNAME_OR_PASSWORD });
  });

  it('refuses a wrong password, an unknown device and a wrong gateway password', async () => {
    expect(
      await tryConnect(url, { clientId: 'dev-1', username: 'dev-1', password: `${dev1.password}x` }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
    expect(
      await tryConnect(url, { clientId: 'dev-9', username: 'dev-9', password: dev1.password }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
    expect(
      await tryConnect(url, { clientId: 'gw-x', username: GATEWAY.username, password: 'nope' }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
    // Another device's password is a wrong password too.
    expect(
      await tryConnect(url, { clientId: 'dev-1', username: 'dev-1', password: dev2.password }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
  });

  it("refuses a device whose client id is not its username (no taking over another device's session)", async () => {
    const r = await tryConnect(url, { clientId: 'dev-2', username: 'dev-1', password: dev1.password });
    expect(r).toMatchObject({ ok: false, code: CONNACK.IDENTIFIER_REJECTED });
  });

  it('lets a device with the right password publish to its own topics; the gateway receives them', async () => {
    const c = await device(dev1);
    expect(
      auth.identityOf((broker.aedes as unknown as { clients: Record<string, never> }).clients['dev-1']),
    ).toEqual({
      kind: 'device',
      deviceId: 'dev-1',
    });
    await c.publishAsync('hf/v1/dev-1/birth', 'own birth', { qos: 1 });
    await c.publishAsync('hf/v1/dev-1/telemetry', 'own telemetry', { qos: 0 });
    await waitFor(() => gatewaySeen.some((m) => m.payload === 'own telemetry'), 5000, 'the telemetry');
    expect(gatewaySeen.map((m) => m.topic)).toEqual(
      expect.arrayContaining(['hf/v1/dev-1/birth', 'hf/v1/dev-1/telemetry']),
    );
    await c.endAsync();
  });

  it('disconnects a device that publishes as another device; the gateway never receives the forgery', async () => {
    const forger = await device(dev1);
    const gone = closed(forger);
    forger.publish('hf/v1/dev-2/vm-state', 'forged', { qos: 1 });
    expect(await gone).toBe(true);

    // A legitimate message sent after the forgery has arrived, so the forgery would have too.
    const honest = await device(dev2);
    await honest.publishAsync('hf/v1/dev-2/vm-state', 'sentinel', { qos: 1 });
    await waitFor(() => gatewaySeen.some((m) => m.payload === 'sentinel'), 5000, 'the sentinel');
    expect(gatewaySeen.filter((m) => m.payload === 'forged')).toEqual([]);
    expect(logLines.some((l) => l.includes('device dev-1 may not publish to hf/v1/dev-2/vm-state'))).toBe(
      true,
    );
    await honest.endAsync();
  });

  it("refuses a device's subscription to another device's reply (SUBACK 0x80) and delivers nothing", async () => {
    const snoop = await device(dev1);
    const snooped = recorder(snoop);
    const granted = await subscribeGranted(snoop, [
      'hf/v1/dev-2/reply',
      'hf/v1/+/reply',
      'hf/v1/dev-1/reply',
    ]);
    expect(granted).toEqual([128, 128, 1]);

    const target = await device(dev2);
    const targetSeen = recorder(target);
    await target.subscribeAsync('hf/v1/dev-2/reply', { qos: 1 });
    await gateway.publishAsync('hf/v1/dev-2/reply', 'for dev-2', { qos: 1 });
    await gateway.publishAsync('hf/v1/dev-1/reply', 'for dev-1', { qos: 1 });
    await waitFor(() => targetSeen.length > 0 && snooped.length > 0, 5000, 'both replies');
    await sleep(200);
    expect(targetSeen.map((m) => m.payload)).toEqual(['for dev-2']);
    expect(snooped.map((m) => m.payload)).toEqual(['for dev-1']);
    await snoop.endAsync();
    await target.endAsync();
  });

  it("never delivers a device's last will on another device's topic", async () => {
    const c = await device(dev1, {
      will: { topic: 'hf/v1/dev-2/status', payload: Buffer.from('forged will'), qos: 1, retain: false },
    });
    c.stream.destroy(); // an unclean loss: the broker publishes the will
    const honest = await device(dev1, {
      will: { topic: 'hf/v1/dev-1/status', payload: Buffer.from('own will'), qos: 1, retain: false },
    });
    honest.stream.destroy();
    await waitFor(() => gatewaySeen.some((m) => m.payload === 'own will'), 5000, 'the honest will');
    expect(gatewaySeen.filter((m) => m.payload === 'forged will')).toEqual([]);
    expect(logLines.some((l) => l.includes('may not publish to hf/v1/dev-2/status'))).toBe(true);
  });

  it('the gateway account may not publish as a device nor subscribe to everything', async () => {
    expect(await subscribeGranted(gateway, ['#', 'hf/v1/+/reply'])).toEqual([128, 128]);
    const other = await connectOk(url, { clientId: 'hyperfleet-gateway-2', ...GATEWAY });
    clients.push(other);
    const gone = closed(other);
    other.publish('hf/v1/dev-1/birth', 'gateway posing as a device', { qos: 1 });
    expect(await gone).toBe(true);
    await sleep(100);
    expect(gatewaySeen.filter((m) => m.payload === 'gateway posing as a device')).toEqual([]);
  });

  it('a rotation or a revocation takes effect at the next connection', async () => {
    const c3 = await store.issue('dev-3');
    (await device(c3)).end();
    const rotated = await store.rotate('dev-3');
    expect(
      await tryConnect(url, { clientId: 'dev-3', username: 'dev-3', password: c3.password }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
    (await device(rotated)).end();
    await store.revoke('dev-3');
    expect(
      await tryConnect(url, { clientId: 'dev-3', username: 'dev-3', password: rotated.password }),
    ).toMatchObject({
      ok: false,
      code: CONNACK.BAD_USERNAME_OR_PASSWORD,
    });
  });

  it('a credential store that fails is CONNACK 3 (server unavailable), not "wrong password"', async () => {
    const other = new EmbeddedMqttBroker({ host: '127.0.0.1', port: await freePort() });
    await other.start();
    try {
      installAedesAuth(other.aedes!, { verify: () => Promise.reject(new Error('connection refused')) });
      const r = await tryConnect(other.url, {
        clientId: 'dev-1',
        username: 'dev-1',
        password: dev1.password,
      });
      expect(r).toMatchObject({ ok: false, code: CONNACK.SERVER_UNAVAILABLE });
    } finally {
      await other.stop();
    }
  });
});
