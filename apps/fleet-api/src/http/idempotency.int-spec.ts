import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { startFleetApi, type ApiHarness } from '../../test/api-harness';
import { requestFingerprint } from './idempotency.interceptor';
import { IdempotencyStore } from './idempotency.store';

/** Raw bytes of a POST, to compare a replay with the original byte for byte. */
async function rawPost(api: ApiHarness, url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${api.base}${url}`, {
    method: 'POST',
    headers: { ...api.auth, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('Idempotency-Key on POST (Nest app, PostgreSQL)', () => {
  let api: ApiHarness;
  let pool: Pool;

  beforeAll(async () => {
    api = await startFleetApi('fleet_api_idempotency', { broker: false });
    pool = api.app.get<Pool>(PG_POOL);
  }, 60_000);
  afterAll(() => api?.close());

  const device = (deviceId: string) => ({ deviceId, deviceClass: 'vehicle', site: 'plant-a', tags: ['t1'] });

  it('replays a 201 byte for byte with Idempotent-Replayed, and the device is provisioned once', async () => {
    const first = await rawPost(api, '/api/v1/devices', device('idem-1'), { 'idempotency-key': 'k-201' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const password = (JSON.parse(first.text) as { mqtt?: { password?: string } }).mqtt?.password;
    expect(password).toEqual(expect.any(String));

    // Same body with its keys in another order: the same request.
    const again = await rawPost(
      api,
      '/api/v1/devices',
      { tags: ['t1'], site: 'plant-a', deviceClass: 'vehicle', deviceId: 'idem-1' },
      { 'idempotency-key': 'k-201' },
    );
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text); // the same password: nothing was issued again
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));

    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM hf.events WHERE stream_id = $1`, [
      'hypervisor-idem-1',
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('replays a 4xx written by the exception filter (a rejected command stays rejected)', async () => {
    const bad = { deviceId: 'idem-2', deviceClass: 'toaster', site: 'x' };
    const first = await rawPost(api, '/api/v1/devices', bad, { 'idempotency-key': 'k-400' });
    expect(first.status).toBe(400);
    expect(JSON.parse(first.text).code).toBe('VALIDATION_FAILED');
    const again = await rawPost(api, '/api/v1/devices', bad, { 'idempotency-key': 'k-400' });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);

    // A domain rejection (409) is kept too, even once the reason is gone.
    const dup = await rawPost(api, '/api/v1/devices', device('idem-1'), { 'idempotency-key': 'k-409' });
    expect(dup.status).toBe(409);
    expect(JSON.parse(dup.text).code).toBe('DEVICE_ALREADY_PROVISIONED');
    const dupAgain = await rawPost(api, '/api/v1/devices', device('idem-1'), { 'idempotency-key': 'k-409' });
    expect(dupAgain.status).toBe(409);
    expect(dupAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(dupAgain.text).toBe(dup.text);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body', async () => {
    const first = await api.request('POST', '/api/v1/devices', device('idem-3'), {
      'idempotency-key': 'k-re',
    });
    expect(first.status).toBe(201);
    const other = await api.request('POST', '/api/v1/devices', device('idem-4'), {
      'idempotency-key': 'k-re',
    });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { idempotencyKey: 'k-re' } });
    // Nothing of the second request ran.
    const { rowCount } = await pool.query(`SELECT 1 FROM hf.streams WHERE stream_id = 'hypervisor-idem-4'`);
    expect(rowCount).toBe(0);
    // Keys are per path: the same key on another route is a new key.
    const rotate = await api.request('POST', '/api/v1/devices/idem-3/credentials:rotate', undefined, {
      'idempotency-key': 'k-re',
    });
    expect(rotate.status).toBe(200);
    expect(rotate.headers.get('idempotent-replayed')).toBeNull();
  });

  /** The credential the harness's requests are scoped to ('anonymous' until the auth guard sets one). */
  const credentialId = async () =>
    (
      await pool.query<{ c: string }>(
        `SELECT credential_id AS c FROM hf.idempotency_keys WHERE key = 'k-201'`,
      )
    ).rows[0]!.c;

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while the first request with the key runs', async () => {
    const body = device('idem-5');
    // The first request is "running": its claim is in the table, as the interceptor writes it.
    await pool.query(
      `INSERT INTO hf.idempotency_keys (credential_id, method, path, key, fingerprint, status, claim)
       VALUES ($1, 'POST', '/api/v1/devices', 'k-busy', $2, 'in-flight', gen_random_uuid())`,
      [await credentialId(), requestFingerprint('POST', '/api/v1/devices', body)],
    );
    const res = await api.request('POST', '/api/v1/devices', body, { 'idempotency-key': 'k-busy' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
    // Another body with the running key is still a reuse.
    const other = await api.request('POST', '/api/v1/devices', device('idem-5b'), {
      'idempotency-key': 'k-busy',
    });
    expect(other.status).toBe(422);
    // Once the holder lets go (its request failed with a 5xx), the retry runs.
    await pool.query(`DELETE FROM hf.idempotency_keys WHERE key = 'k-busy'`);
    const retry = await api.request('POST', '/api/v1/devices', body, { 'idempotency-key': 'k-busy' });
    expect(retry.status).toBe(201);
  });

  it('takes over an in-flight key past its lease and forgets keys older than 24 h', async () => {
    const body = device('idem-6');
    await pool.query(
      `INSERT INTO hf.idempotency_keys (credential_id, method, path, key, fingerprint, status, claim, created_at)
       VALUES ($1, 'POST', '/api/v1/devices', 'k-stale', $2, 'in-flight', gen_random_uuid(),
               now() - interval '10 minutes')`,
      [await credentialId(), requestFingerprint('POST', '/api/v1/devices', body)],
    );
    const res = await api.request('POST', '/api/v1/devices', body, { 'idempotency-key': 'k-stale' });
    expect(res.status).toBe(201);
    // A day-old completed key with another body: ignored (the key is new again).
    await pool.query(
      `UPDATE hf.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k-re'`,
    );
    const reuse = await api.request('POST', '/api/v1/devices', device('idem-7'), {
      'idempotency-key': 'k-re',
    });
    expect(reuse.status).toBe(201);
    expect(reuse.headers.get('idempotent-replayed')).toBeNull();
    // And pruned.
    await pool.query(
      `UPDATE hf.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k-stale'`,
    );
    const pruned = await new IdempotencyStore(pool).prune();
    expect(pruned).toBeGreaterThanOrEqual(1);
    const { rowCount } = await pool.query(`SELECT 1 FROM hf.idempotency_keys WHERE key = 'k-stale'`);
    expect(rowCount).toBe(0);
  });

  it('runs concurrent retries once: the others wait their turn (409) or get the replay', async () => {
    const body = device('idem-race');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => rawPost(api, '/api/v1/devices', body, { 'idempotency-key': 'k-race' })),
    );
    const fresh = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a === fresh[0]) continue;
      if (a.status === 409) expect(JSON.parse(a.text).code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
      else expect({ status: a.status, text: a.text }).toEqual({ status: 201, text: fresh[0]!.text });
    }
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM hf.events WHERE stream_id = $1`, [
      'hypervisor-idem-race',
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('keeps the keys of two credentials apart', async () => {
    const created = await api.request('POST', '/api/v1/api-keys', {
      name: 'idem-operator',
      role: 'operator',
    });
    expect(created.status).toBe(201);
    const operator = { authorization: `Bearer ${created.body.key as string}` };
    // The admin's key k-201 provisioned idem-1; the same key from another credential is a new request.
    const other = await api.request('POST', '/api/v1/devices', device('idem-10'), {
      ...operator,
      'idempotency-key': 'k-201',
    });
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    const again = await api.request('POST', '/api/v1/devices', device('idem-10'), {
      ...operator,
      'idempotency-key': 'k-201',
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await pool.query<{ credential_id: string }>(
      `SELECT DISTINCT credential_id FROM hf.idempotency_keys WHERE key = 'k-201'`,
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.credential_id)).not.toContain('anonymous');
  });

  it.each([
    ['an empty key', ''],
    ['a key of 256 characters', 'k'.repeat(256)],
    ['a key with a non-printable character', 'k\tx'],
  ])('answers 400 INVALID_IDEMPOTENCY_KEY for %s', async (_what, key) => {
    const res = await api.request('POST', '/api/v1/devices', device('idem-bad'), { 'idempotency-key': key });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_IDEMPOTENCY_KEY');
  });

  it('accepts 255 printable characters, and POSTs without a key work as before', async () => {
    const key = ' !~'.repeat(85);
    const res = await api.request('POST', '/api/v1/devices', device('idem-8'), { 'idempotency-key': key });
    expect(res.status).toBe(201);
    const plain = await api.request('POST', '/api/v1/devices', device('idem-8'));
    expect(plain.status).toBe(409);
  });

  it('does not store a 5xx: the request can be retried with the same key', async () => {
    // A request whose handler fails: the database refuses the credential write once.
    await pool.query(
      `ALTER TABLE hf.device_credentials ADD CONSTRAINT idem_test_fail CHECK (device_id <> 'idem-9')`,
    );
    const failed = await api.request('POST', '/api/v1/devices', device('idem-9'), {
      'idempotency-key': 'k-500',
    });
    expect(failed.status).toBe(500);
    const { rowCount } = await pool.query(`SELECT 1 FROM hf.idempotency_keys WHERE key = 'k-500'`);
    expect(rowCount).toBe(0);
    await pool.query(`ALTER TABLE hf.device_credentials DROP CONSTRAINT idem_test_fail`);
    const retried = await api.request('POST', '/api/v1/devices', device('idem-9'), {
      'idempotency-key': 'k-500',
    });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('documents the header on every POST of the OpenAPI document', async () => {
    const res = await fetch(`${api.base}/docs-json`);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    const posts = Object.values(doc.paths).flatMap((item) => (item.post ? [item.post] : []));
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) {
      expect(post.parameters?.map((p) => p.name)).toContain('Idempotency-Key');
    }
  });
});
