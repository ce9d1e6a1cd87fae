/**
 * Authentication and authorisation of the operator API over real HTTP, PostgreSQL and a JWKS served by
 * a local node:http server: the role × route matrix over every operation of the OpenAPI document, API
 * key lifecycle (shown once, hashed, expiry, revocation), the bootstrap key, scoped credentials, JWTs.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type KeyLike } from 'jose';
import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { Command } from 'commander';
import { registerKeysCommands } from '../../../fleetctl/src/commands/keys';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';
import { API_KEY_CACHE_MS } from './api-keys.service';
import { RouteDeclarations } from './auth.guard';
import { openApiPath as toOpenApiPath } from './auth.openapi';
import { ROLES, roleAllows, type Permission, type Role } from './auth.types';

const ISSUER = 'https://idp.test/realms/hyperfleet';
const AUDIENCE = 'hyperfleet-api';
const KID = 'test-key-1';

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly security: boolean;
}

async function eventually<T>(ms: number, probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('operator API authentication and authorisation (HTTP, PostgreSQL, a local JWKS)', () => {
  let h: ApiHarness;
  let jwks: http.Server;
  let signingKey: KeyLike;
  let otherKey: KeyLike;
  const keys = {} as Record<Role, string>;

  // Rows are read loosely in assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const sql = (text: string, params: unknown[] = []) => h.app.get<Pool>(PG_POOL).query<any>(text, params);
  const as = (credential: string | null, method: string, url: string, body?: unknown) =>
    h.request(method, url, body, { authorization: credential === null ? '' : `Bearer ${credential}` });

  const createKey = async (body: Record<string, unknown>, by = h.adminKey!) => {
    const res = await as(by, 'POST', '/api/v1/api-keys', body);
    expect(res.status).toBe(201);
    return res.body as { key: string; apiKey: Body };
  };

  const token = (claims: Record<string, unknown>, opts: { key?: KeyLike; exp?: string | number } = {}) =>
    new SignJWT({ hf_role: 'viewer', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('alice@example.com')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? signingKey);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    const publicKey = await exportJWK(pair.publicKey);
    otherKey = (await generateKeyPair('RS256')).privateKey;
    jwks = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...publicKey, kid: KID, alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const port = (jwks.address() as AddressInfo).port;
    h = await startFleetApi('hf_auth', {
      projector: true,
      env: {
        AUTH_JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
      },
    });
    for (const role of ROLES) keys[role] = (await createKey({ name: `matrix-${role}`, role })).key;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await new Promise((r) => jwks?.close(r));
  });

  describe('the bootstrap admin key', () => {
    it('is written to HF_DATA_DIR/admin-api-key with mode 0600 and works', async () => {
      expect(h.adminKey).toMatch(/^hf_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
      const file = path.join(h.dataDir, 'admin-api-key');
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(h.adminKey);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const list = await h.get('/api/v1/api-keys');
      expect(list.status).toBe(200);
      const boot = list.body.items.find((k: Body) => k.name === 'bootstrap-admin');
      expect(boot).toMatchObject({ role: 'admin', status: 'active', createdBy: 'fleet-api', scope: null });
    });

    it('HF_ADMIN_API_KEY: that key is made an admin key and no file is written', async () => {
      const given = `hf_deploy01_${'A'.repeat(20)}${'b'.repeat(23)}`;
      const other = await startFleetApi('hf_auth_envkey', {
        broker: false,
        env: { HF_ADMIN_API_KEY: given },
      });
      try {
        expect(other.adminKey).toBeNull();
        const res = await other.request('GET', '/api/v1/api-keys', undefined, {
          authorization: `Bearer ${given}`,
        });
        expect(res.status).toBe(200);
        expect(res.body.items).toEqual([
          expect.objectContaining({ id: 'deploy01', name: 'HF_ADMIN_API_KEY', role: 'admin' }),
        ]);
      } finally {
        await other.close();
      }
    }, 60_000);
  });

  describe('every route declares what it needs', () => {
    let operations: Operation[];

    beforeAll(async () => {
      const doc = await h.get('/docs-json');
      expect(doc.status).toBe(200);
      operations = Object.entries(doc.body.paths as Record<string, Record<string, Body>>).flatMap(
        ([p, item]) =>
          Object.entries(item)
            .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
            .map(([m, op]) => ({ method: m.toUpperCase(), path: p, security: Array.isArray(op.security) })),
      );
    });

    it('each route of the app has @Requires or @Public, and is in the OpenAPI document with its security', () => {
      const routes = h.app.get(RouteDeclarations).all();
      expect(routes.length).toBeGreaterThan(20);
      expect(routes.filter((r) => !r.public && !r.permission)).toEqual([]);
      for (const r of routes) {
        const op = operations.find((o) => o.method === r.method && o.path === toOpenApiPath(r.path));
        expect({ route: `${r.method} ${r.path}`, documented: !!op }).toEqual({
          route: `${r.method} ${r.path}`,
          documented: true,
        });
        expect({ route: `${r.method} ${r.path}`, security: op!.security }).toEqual({
          route: `${r.method} ${r.path}`,
          security: !r.public,
        });
      }
      // A new public route must be a decision: /health, and the device-facing downloads (signed links,
      // Uptane metadata that is itself signed). Add a prefix here on purpose.
      const publicAllowed = /^\/health$|^\/api\/v1\/artifact-downloads\/|^\/api\/v1\/uptane\//;
      expect(routes.filter((r) => r.public && !publicAllowed.test(r.path)).map((r) => r.path)).toEqual([]);
    });

    it('role × route: 401 without a credential, 403 PERMISSION_DENIED exactly where the role lacks the permission', async () => {
      const routes = h.app.get(RouteDeclarations).all();
      const fill = (p: string) => p.replace(/\{[^}]+\}/g, 'abcd1234');
      const failures: string[] = [];
      let checked = 0;
      for (const r of routes.filter((x) => !x.public)) {
        const url = fill(toOpenApiPath(r.path));
        const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined;
        const anonymous = await as(null, r.method, url, body);
        if (anonymous.status !== 401 || anonymous.body.code !== 'UNAUTHENTICATED') {
          failures.push(
            `${r.method} ${url} without a credential: ${anonymous.status} ${anonymous.body.code}`,
          );
        }
        for (const role of ROLES) {
          const res = await as(keys[role], r.method, url, body);
          checked++;
          const allowed = roleAllows(role, r.permission as Permission);
          const denied = res.status === 403 && res.body.code === 'PERMISSION_DENIED';
          if (allowed && (denied || res.status === 401)) {
            failures.push(
              `${role} ${r.method} ${url}: ${res.status} ${res.body.code} but the role grants ${r.permission}`,
            );
          }
          if (
            !allowed &&
            !(denied && res.body.details?.required === r.permission && res.body.details?.role === role)
          ) {
            failures.push(
              `${role} ${r.method} ${url}: ${res.status} ${res.body.code}, expected 403 PERMISSION_DENIED`,
            );
          }
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(80);
    }, 120_000);

    it('/health, /docs and /docs-json need no credential; Swagger UI takes and keeps the bearer credential', async () => {
      for (const url of ['/health', '/docs', '/docs-json']) {
        const res = await fetch(`${h.base}${url}`);
        expect({ url, status: res.status }).toEqual({ url, status: 200 });
      }
      const init = await (await fetch(`${h.base}/docs/swagger-ui-init.js`)).text();
      expect(init).toMatch(/"persistAuthorization":\s*true/);
      const doc = (await h.get('/docs-json')).body;
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.paths['/health'].get.security).toBeUndefined();
      expect(doc.paths['/api/v1/devices'].get.responses['401']).toBeDefined();
      expect(doc.paths['/api/v1/devices'].get.responses['403']).toBeDefined();
    });
  });

  describe('API keys', () => {
    it('no credential is 401 UNAUTHENTICATED with WWW-Authenticate: Bearer, also for a Basic header', async () => {
      for (const authorization of ['', 'Basic dXNlcjpwdw==']) {
        const res = await h.request('GET', '/api/v1/devices', undefined, { authorization });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('UNAUTHENTICATED');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    });

    it('an unknown, malformed or wrong-secret key is 401 INVALID_CREDENTIAL', async () => {
      const known = keys.viewer;
      const wrongSecret = known.slice(0, -4) + (known.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      for (const credential of [
        `hf_0123456789abcdef_${'x'.repeat(43)}`,
        'hf_nope',
        'nonsense',
        wrongSecret,
      ]) {
        const res = await as(credential, 'GET', '/api/v1/devices');
        expect({ credential, status: res.status, code: res.body.code }).toEqual({
          credential,
          status: 401,
          code: 'INVALID_CREDENTIAL',
        });
      }
    });

    it('is shown once, listed without its secret, refused once expired, at once once revoked; both are events', async () => {
      const created = await createKey({ name: 'ci-pipeline', role: 'operator', expiresInDays: 30 });
      expect(created.key).toMatch(new RegExp(`^hf_${created.apiKey.id}_`));
      expect(created.apiKey).toMatchObject({
        name: 'ci-pipeline',
        role: 'operator',
        status: 'active',
        createdBy: 'bootstrap-admin',
      });
      const listed = await h.get('/api/v1/api-keys');
      expect(JSON.stringify(listed.body)).not.toContain(created.key.split('_').slice(2).join('_'));
      const stored = await sql(`SELECT secret_hash FROM hf.api_keys WHERE key_id = $1`, [created.apiKey.id]);
      expect(stored.rows[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);

      expect((await as(created.key, 'GET', '/api/v1/devices')).status).toBe(200);
      const one = await h.get(`/api/v1/api-keys/${created.apiKey.id}`);
      expect(one.body.lastUsedAt).not.toBeNull();

      const revoked = await h.request('POST', `/api/v1/api-keys/${created.apiKey.id}:revoke`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.status).toBe('revoked');
      const after = await as(created.key, 'GET', '/api/v1/devices');
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('CREDENTIAL_REVOKED');
      expect((await h.request('POST', `/api/v1/api-keys/${created.apiKey.id}:revoke`)).status).toBe(200);
      expect((await h.get('/api/v1/api-keys/ffffffffffff')).body.code).toBe('API_KEY_NOT_FOUND');

      const events = await sql(
        `SELECT event_type, data, metadata FROM hf.events WHERE stream_id = $1 ORDER BY stream_position`,
        [`api-key-${created.apiKey.id}`],
      );
      expect(events.rows.map((e) => e.event_type)).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
      expect(events.rows[0].metadata.actor).toMatchObject({
        subject: 'bootstrap-admin',
        credentialKind: 'api-key',
      });
      expect(JSON.stringify(events.rows)).not.toContain(created.key.split('_').slice(2).join('_'));

      const expiring = await createKey({ name: 'short-lived', role: 'viewer', expiresInDays: 1 });
      await sql(`UPDATE hf.api_keys SET expires_at = now() - interval '1 second' WHERE key_id = $1`, [
        expiring.apiKey.id,
      ]);
      const expired = await as(expiring.key, 'GET', '/api/v1/devices');
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe('CREDENTIAL_EXPIRED');
    });

    it('a revocation reaches another API process on the same database within the 5 s cache', async () => {
      const second = await startFleetApi('hf_auth_second', { broker: false, db: h.db });
      try {
        // An admin key exists already: the second process makes no bootstrap key of its own.
        expect(second.adminKey).toBeNull();
        const { key, apiKey } = await createKey({ name: 'two-processes', role: 'viewer' });
        const viaSecond = () =>
          second.request('GET', '/api/v1/devices', undefined, { authorization: `Bearer ${key}` });
        expect((await viaSecond()).status).toBe(200);
        expect((await h.request('POST', `/api/v1/api-keys/${apiKey.id}:revoke`)).status).toBe(200);
        const revokedAt = Date.now();
        const refused = await eventually(
          7_000,
          async () => ((await viaSecond()).status === 401 ? Date.now() - revokedAt : undefined),
          'the second process refuses the revoked key',
        );
        expect(refused).toBeLessThanOrEqual(API_KEY_CACHE_MS + 1_000);
        expect((await viaSecond()).body.code).toBe('CREDENTIAL_REVOKED');
      } finally {
        await second.close();
      }
    }, 60_000);

    it('a bad create body is 400 VALIDATION_FAILED', async () => {
      for (const body of [
        {},
        { name: 'x', role: 'root' },
        { name: 'x', role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' },
      ]) {
        const res = await h.request('POST', '/api/v1/api-keys', body);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
    });

    it('X-Request-Id is echoed when well-formed, replaced otherwise, and lands in event metadata', async () => {
      const good = await h.request('GET', '/api/v1/devices', undefined, { 'x-request-id': 'trace-42.a_b' });
      expect(good.headers.get('x-request-id')).toBe('trace-42.a_b');
      const bad = await h.request('GET', '/api/v1/devices', undefined, {
        'x-request-id': 'no spaces please',
      });
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const refused = await as(null, 'GET', '/api/v1/devices');
      expect(refused.headers.get('x-request-id')).toBeTruthy();

      const res = await h.request(
        'POST',
        '/api/v1/devices',
        { deviceId: 'veh-req', deviceClass: 'vehicle', site: 'depot-9' },
        { 'x-request-id': 'req-provision-1' },
      );
      expect(res.status).toBe(201);
      const events = await sql(
        `SELECT stream_id, event_type, metadata FROM hf.events WHERE metadata->'actor'->>'requestId' = 'req-provision-1'`,
      );
      expect(events.rows.map((e) => e.event_type).sort()).toEqual([
        'DeviceCredentialIssued',
        'DeviceProvisioned',
      ]);
      for (const e of events.rows) expect(e.metadata.actor.subject).toBe('bootstrap-admin');
      const cred = events.rows.find((e) => e.event_type === 'DeviceCredentialIssued')!;
      expect(cred.stream_id).toBe('device-credential-veh-req');
      expect(cred.metadata.deviceId).toBe('veh-req');

      // Rotation and revocation are facts too, with who did them; revoking again is no new fact.
      const op = await createKey({ name: 'credential-operator', role: 'operator' });
      expect((await as(op.key, 'POST', '/api/v1/devices/veh-req/credentials:rotate')).status).toBe(200);
      expect((await as(op.key, 'DELETE', '/api/v1/devices/veh-req/credentials')).status).toBe(200);
      expect((await as(op.key, 'DELETE', '/api/v1/devices/veh-req/credentials')).status).toBe(200);
      const facts = await sql(
        `SELECT event_type, data, metadata FROM hf.events WHERE stream_id = 'device-credential-veh-req' ORDER BY stream_position`,
      );
      expect(facts.rows.map((e) => e.event_type)).toEqual([
        'DeviceCredentialIssued',
        'DeviceCredentialRotated',
        'DeviceCredentialRevoked',
      ]);
      for (const e of facts.rows.slice(1)) {
        expect(e.metadata).toMatchObject({
          deviceId: 'veh-req',
          actor: { subject: 'credential-operator', credentialKind: 'api-key', credentialId: op.apiKey.id },
        });
        expect(JSON.stringify(e.data)).not.toMatch(/password/i);
      }
    });
  });

  describe('scoped credentials', () => {
    beforeAll(async () => {
      for (const [deviceId, deviceClass, site] of [
        ['veh-in', 'vehicle', 'depot-1'],
        ['ipc-out', 'industrial-pc', 'depot-2'],
      ]) {
        expect((await h.request('POST', '/api/v1/devices', { deviceId, deviceClass, site })).status).toBe(
          201,
        );
      }
      await eventually(
        15_000,
        async () => ((await h.get('/api/v1/devices?q=ipc-out')).body.items?.length === 1 ? true : undefined),
        'the inventory has both devices',
      );
    });

    it('outside its scope a device does not exist (404) and lists leave it out', async () => {
      const { key } = await createKey({
        name: 'depot-1-viewer',
        role: 'viewer',
        scope: { sites: ['depot-1'] },
      });
      const list = await as(key, 'GET', '/api/v1/devices?limit=100');
      expect(list.status).toBe(200);
      const ids = list.body.items.map((d: Body) => d.id);
      expect(ids).toContain('veh-in');
      expect(ids).not.toContain('ipc-out');
      for (const url of [
        '/api/v1/devices/ipc-out',
        '/api/v1/devices/ipc-out/timeline',
        '/api/v1/devices/ipc-out/credentials',
        '/api/v1/scheduling/devices/ipc-out',
        '/api/v1/ota/devices/ipc-out',
        '/api/v1/telemetry/rollups?deviceId=ipc-out',
      ]) {
        const res = await as(key, 'GET', url);
        expect({ url, status: res.status, code: res.body.code }).toEqual({
          url,
          status: 404,
          code: 'DEVICE_NOT_FOUND',
        });
      }
      expect((await as(key, 'GET', '/api/v1/devices/veh-in')).status).toBe(200);
      expect((await as(key, 'GET', '/api/v1/ota/devices?limit=100')).status).toBe(200);
      expect((await as(key, 'GET', '/api/v1/scheduling/drift')).status).toBe(200);
      expect((await as(key, 'GET', '/api/v1/slo/latency')).status).toBe(200);
      expect((await as(key, 'GET', '/api/v1/slo/latency?site=depot-2')).body.code).toBe('SCOPE_EXCEEDED');
    });

    it('a scoped operator cannot provision outside its scope; a scoped admin cannot mint a wider key', async () => {
      const { key: op } = await createKey({
        name: 'depot-1-op',
        role: 'operator',
        scope: { sites: ['depot-1'] },
      });
      const res = await as(op, 'POST', '/api/v1/devices', {
        deviceId: 'veh-x',
        deviceClass: 'vehicle',
        site: 'depot-2',
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('SCOPE_EXCEEDED');
      expect((await as(op, 'POST', '/api/v1/devices/ipc-out/credentials:rotate')).status).toBe(404);

      const { key: admin } = await createKey({
        name: 'depot-1-admin',
        role: 'admin',
        scope: { sites: ['depot-1'], deviceClasses: ['vehicle'] },
      });
      const wider = await as(admin, 'POST', '/api/v1/api-keys', { name: 'w', role: 'viewer' });
      expect(wider.status).toBe(403);
      expect(wider.body.code).toBe('SCOPE_EXCEEDED');
      const inside = await as(admin, 'POST', '/api/v1/api-keys', {
        name: 'n',
        role: 'viewer',
        scope: { sites: ['depot-1'], deviceClasses: ['vehicle'] },
      });
      expect(inside.status).toBe(201);
      // It sees and revokes only keys within its scope: the others do not exist for it.
      const listed = (await as(admin, 'GET', '/api/v1/api-keys')).body.items as Body[];
      expect(listed.map((k) => k.name).sort()).toEqual(['depot-1-admin', 'n']);
      const bootstrapId = (await h.get('/api/v1/api-keys')).body.items.find(
        (k: Body) => k.name === 'bootstrap-admin',
      ).id;
      const foreign = await as(admin, 'POST', `/api/v1/api-keys/${bootstrapId}:revoke`);
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('API_KEY_NOT_FOUND');
    });
  });

  describe('fleetctl keys', () => {
    /** fleetctl in this process, against the API over HTTP: its output and exit code. */
    const fleetctl = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const log = jest.spyOn(console, 'log').mockImplementation((l?: unknown) => void out.push(String(l)));
      const error = jest
        .spyOn(console, 'error')
        .mockImplementation((l?: unknown) => void err.push(String(l)));
      const env = { HF_API_KEY: process.env.HF_API_KEY, FLEETCTL_CONFIG: process.env.FLEETCTL_CONFIG };
      delete process.env.HF_API_KEY;
      process.env.FLEETCTL_CONFIG = path.join(h.dataDir, 'no-fleetctl.json');
      const before = process.exitCode;
      process.exitCode = 0;
      try {
        const program = new Command().exitOverride();
        registerKeysCommands(program);
        await program.parseAsync([...args, '--api', h.base], { from: 'user' });
        return { out: out.join('\n'), err: err.join('\n'), code: process.exitCode ?? 0 };
      } finally {
        process.exitCode = before;
        Object.assign(process.env, env);
        if (env.HF_API_KEY === undefined) delete process.env.HF_API_KEY;
        if (env.FLEETCTL_CONFIG === undefined) delete process.env.FLEETCTL_CONFIG;
        log.mockRestore();
        error.mockRestore();
      }
    };

    it('create (shown once), list, revoke; exit 0, and a one-line reason with a hint otherwise', async () => {
      const admin = ['--api-key', h.adminKey!];
      const created = await fleetctl([
        'keys',
        'create',
        'nightly-export',
        '--role',
        'viewer',
        '--site',
        'depot-1',
        '--expires-in-days',
        '7',
        '--json',
        ...admin,
      ]);
      expect(created.code).toBe(0);
      const { key, apiKey } = JSON.parse(created.out) as { key: string; apiKey: Body };
      expect(apiKey).toMatchObject({ name: 'nightly-export', role: 'viewer', scope: { sites: ['depot-1'] } });
      expect((await as(key, 'GET', '/api/v1/devices')).status).toBe(200);

      const plain = await fleetctl(['keys', 'create', 'plain', '--role', 'operator', ...admin]);
      expect(plain.code).toBe(0);
      expect(plain.out).toMatch(/^hf_[a-z0-9]+_\S+$/);
      expect(plain.err).toContain('shown only now');

      const list = await fleetctl(['keys', 'list', ...admin]);
      expect(list.code).toBe(0);
      expect(list.out).toMatch(
        new RegExp(`${apiKey.id}\\s+nightly-export\\s+viewer\\s+active\\s+sites depot-1`),
      );

      const denied = await fleetctl(['keys', 'revoke', apiKey.id, '--api-key', key]);
      expect(denied.code).not.toBe(0);
      expect(denied.err).toMatch(/^fleetctl: PERMISSION_DENIED: .*role/);
      const anonymous = await fleetctl(['keys', 'list']);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.err).toMatch(/UNAUTHENTICATED.*HF_API_KEY/);
      const badRole = await fleetctl(['keys', 'create', 'x', '--role', 'root', ...admin]);
      expect(badRole.code).not.toBe(0);
      expect(badRole.err).toMatch(/--role must be one of/);

      const revoked = await fleetctl(['keys', 'revoke', apiKey.id, ...admin]);
      expect(revoked.code).toBe(0);
      expect(revoked.out).toContain(`revoked API key ${apiKey.id}`);
      expect((await as(key, 'GET', '/api/v1/devices')).body.code).toBe('CREDENTIAL_REVOKED');
    });
  });

  describe('JWT bearer tokens (RS256 via a JWKS URL)', () => {
    const expectRefused = async (credential: string, reason: RegExp) => {
      const res = await as(credential, 'GET', '/api/v1/devices');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INVALID_TOKEN');
      expect(res.body.message).toMatch(reason);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    };

    it('a good token authenticates with its role and scope', async () => {
      const viewer = await token({ hf_role: 'viewer', hf_sites: ['depot-1'] });
      const list = await as(viewer, 'GET', '/api/v1/devices?limit=100');
      expect(list.status).toBe(200);
      expect(list.body.items.map((d: Body) => d.id)).not.toContain('ipc-out');
      expect((await as(viewer, 'GET', '/api/v1/devices/ipc-out')).status).toBe(404);
      const denied = await as(viewer, 'GET', '/api/v1/api-keys');
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({
        code: 'PERMISSION_DENIED',
        details: { required: 'keys:manage', role: 'viewer' },
      });
      const admin = await token({ hf_role: 'admin', jti: 'tok-1' });
      const created = await as(admin, 'POST', '/api/v1/api-keys', { name: 'from-jwt', role: 'viewer' });
      expect(created.status).toBe(201);
      expect(created.body.apiKey.createdBy).toBe('alice@example.com');
    });

    it('refuses a wrong issuer, a wrong audience, an expired or ill-signed token, an unknown role', async () => {
      const sign = (iss: string, aud: string) =>
        new SignJWT({ hf_role: 'viewer' })
          .setProtectedHeader({ alg: 'RS256', kid: KID })
          .setIssuer(iss)
          .setAudience(aud)
          .setSubject('mallory')
          .setExpirationTime('5m')
          .sign(signingKey);
      await expectRefused(await sign('https://evil.test', AUDIENCE), /issuer/);
      await expectRefused(await sign(ISSUER, 'another-api'), /audience/);
      await expectRefused(await token({}, { exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/);
      await expectRefused(await token({}, { key: otherKey }), /signature/);
      await expectRefused(await token({ hf_role: 'root' }), /hf_role/);
    });

    it('refuses alg "none" and HS256 (a shared secret) whatever they claim', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'mallory',
        hf_role: 'admin',
        exp: Math.floor(Date.now() / 1000) + 300,
      };
      await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, /none/);
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: KID })
        .sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'));
      await expectRefused(hs, /HS256 is not allowed/);
    });
  });
});
