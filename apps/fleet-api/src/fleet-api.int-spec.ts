import type { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { MqttClient } from 'mqtt';
import { ProvisionDevice } from '@hyperfleet/domain';
import { EmbeddedMqttBroker } from '@hyperfleet/platform';
import { EmbeddedBrokerAuth, GATEWAY_ACCOUNT, type GatewayAccount } from '../../device-gateway/src/identity';
import { connectOk, tryConnect } from '../../device-gateway/src/identity/mqtt-test-clients';
import { startFleetApi, type ApiHarness, type Body } from '../test/api-harness';

describe('fleet-api over HTTP (Nest app, PostgreSQL, embedded aedes with the identity hooks)', () => {
  let api: ApiHarness;
  let broker: EmbeddedMqttBroker;
  let app: INestApplication;
  let base: string;
  let gateway: GatewayAccount;
  const clients: MqttClient[] = [];

  const call = async (method: string, url: string, body?: unknown, raw?: string) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...api.auth,
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      body: json as Body,
      text,
      type: res.headers.get('content-type'),
    };
  };
  const provision = (deviceId: string, extra: Record<string, unknown> = {}) =>
    call('POST', '/api/v1/devices', { deviceId, deviceClass: 'vehicle', site: 'depot-1', ...extra });
  const mqtt = (deviceId: string, password: string) =>
    tryConnect(broker.url, { clientId: deviceId, username: deviceId, password });

  beforeAll(async () => {
    api = await startFleetApi('hf_fleet_api');
    ({ app, base } = api);
    broker = api.broker!;
    // What the device gateway does in the all-in-one: secure the embedded broker with the hooks.
    expect(app.get(EmbeddedBrokerAuth).install()).not.toBeNull();
    gateway = app.get(GATEWAY_ACCOUNT);
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await api?.close();
  });

  it('POST /api/v1/devices provisions the device and answers 201 with its MQTT password, once', async () => {
    const res = await provision('veh-1', { tags: ['fleet=north', 'model=a'] });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      deviceId: 'veh-1',
      mqtt: {
        username: 'veh-1',
        password: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        issuedAt: expect.any(String),
      },
    });

    const again = await provision('veh-1');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'DEVICE_ALREADY_PROVISIONED', message: expect.any(String) });
    expect(again.text).not.toContain(res.body.mqtt.password);
  });

  it('the issued password works against aedes with the identity hooks; a wrong one does not', async () => {
    const res = await provision('veh-2');
    const ok = await mqtt('veh-2', res.body.mqtt.password);
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      clients.push(ok.client);
      await ok.client.publishAsync('hf/v1/veh-2/status', '{}', { qos: 1 });
    }
    expect(await mqtt('veh-2', 'not-the-password')).toMatchObject({ ok: false, code: 4 });
  });

  it('a bad body is 400 VALIDATION_FAILED naming each field', async () => {
    const res = await call('POST', '/api/v1/devices', {
      deviceId: 'a/b',
      deviceClass: 'tractor',
      site: '',
      extra: 1,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { part: 'body' } });
    const paths = (res.body.details.issues as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['deviceId', 'deviceClass', 'site', '(body)']));
    expect(res.body.message).toContain('deviceClass');

    const missing = await call('POST', '/api/v1/devices');
    expect(missing).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('malformed JSON is 400 MALFORMED_JSON; an unknown route is 404 JSON', async () => {
    const bad = await call('POST', '/api/v1/devices', undefined, '{"deviceId":');
    expect(bad).toMatchObject({ status: 400, body: { code: 'MALFORMED_JSON' } });
    const none = await call('GET', '/api/v1/nothing-here');
    expect(none.status).toBe(404);
    expect(none.type).toContain('application/json');
    expect(none.body).toEqual({ code: 'NOT_FOUND', message: 'No such route: GET /api/v1/nothing-here.' });
  });

  it("refuses the gateway account's username as a device id, before provisioning anything", async () => {
    const res = await provision(gateway.username);
    expect(res).toMatchObject({ status: 422, body: { code: 'DEVICE_ID_RESERVED' } });
    const again = await provision(gateway.username);
    expect(again.body.code).toBe('DEVICE_ID_RESERVED'); // not DEVICE_ALREADY_PROVISIONED
  });

  it('repeating the request after a crash between the two steps issues the credential', async () => {
    // The crash: the device was provisioned, the credential never issued.
    await app
      .get(CommandBus)
      .execute(new ProvisionDevice({ deviceId: 'veh-3', deviceClass: 'vehicle', site: 'depot-1' }));
    const other = await provision('veh-3', { site: 'depot-2' });
    expect(other).toMatchObject({ status: 409, body: { code: 'DEVICE_ALREADY_PROVISIONED' } });
    const retry = await provision('veh-3');
    expect(retry.status).toBe(201);
    expect((await mqtt('veh-3', retry.body.mqtt.password)).ok).toBe(true);
    expect((await provision('veh-3')).status).toBe(409);
  });

  it('of two identical requests racing, exactly one gets the password', async () => {
    const results = await Promise.all([provision('veh-4'), provision('veh-4'), provision('veh-4')]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('rotate: a new password, the old one stops working', async () => {
    const first = await provision('veh-5');
    const rotated = await call('POST', '/api/v1/devices/veh-5/credentials:rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ deviceId: 'veh-5', mqtt: { username: 'veh-5' } });
    expect(rotated.body.mqtt.password).not.toBe(first.body.mqtt.password);
    expect(await mqtt('veh-5', first.body.mqtt.password)).toMatchObject({ ok: false, code: 4 });
    const ok = await connectOk(broker.url, {
      clientId: 'veh-5',
      username: 'veh-5',
      password: rotated.body.mqtt.password,
    });
    clients.push(ok);

    const status = await call('GET', '/api/v1/devices/veh-5/credentials');
    expect(status.body).toMatchObject({ deviceId: 'veh-5', active: true, rotatedAt: expect.any(String) });
    expect(status.text).not.toMatch(/\$7\$/);
  });

  it('revoke: a connected device is disconnected and can no longer connect; revoking again is the same answer', async () => {
    const c = await provision('veh-6');
    const connected = await connectOk(broker.url, {
      clientId: 'veh-6',
      username: 'veh-6',
      password: c.body.mqtt.password,
    });
    clients.push(connected);
    const dropped = new Promise<void>((r) => connected.once('close', () => r()));
    const revoked = await call('DELETE', '/api/v1/devices/veh-6/credentials');
    expect(revoked).toMatchObject({
      status: 200,
      body: { deviceId: 'veh-6', active: false, revokedAt: expect.any(String) },
    });
    await dropped;
    expect(await mqtt('veh-6', c.body.mqtt.password)).toMatchObject({ ok: false, code: 4 });
    const again = await call('DELETE', '/api/v1/devices/veh-6/credentials');
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
  });

  it('credentials of an unknown device are 404 CREDENTIAL_NOT_FOUND; a bad id is 400', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/devices/ghost/credentials:rotate'],
      ['DELETE', '/api/v1/devices/ghost/credentials'],
      ['GET', '/api/v1/devices/ghost/credentials'],
    ]) {
      expect(await call(method, url)).toMatchObject({ status: 404, body: { code: 'CREDENTIAL_NOT_FOUND' } });
    }
    const bad = await call('GET', '/api/v1/devices/%2Bx/credentials');
    expect(bad).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', details: { part: 'path' } },
    });
  });

  it('device ids with ":" and "." work in the paths', async () => {
    expect((await provision('ipc:0042.a')).status).toBe(201);
    const rotated = await call(
      'POST',
      `/api/v1/devices/${encodeURIComponent('ipc:0042.a')}/credentials:rotate`,
    );
    expect(rotated).toMatchObject({ status: 200, body: { deviceId: 'ipc:0042.a' } });
  });

  it('serves the OpenAPI document at /docs-json and Swagger UI at /docs', async () => {
    const doc = await call('GET', '/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({
      openapi: expect.stringMatching(/^3\./),
      info: { title: 'Hyperfleet fleet API' },
    });
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/devices',
        '/api/v1/devices/{id}/credentials:rotate',
        '/api/v1/devices/{id}/credentials',
        '/health',
      ]),
    );
    const post = doc.body.paths['/api/v1/devices'].post;
    expect(post.requestBody.content['application/json'].schema.properties.deviceClass.enum).toEqual([
      'vehicle',
      'industrial-pc',
    ]);
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '400', '409', '422']));
    const ui = await call('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
  });
});
