import { Command } from 'commander';
import type { Pool } from 'pg';
import { PG_POOL } from '@hyperfleet/platform';
import { registerDevicesCommands } from '../../../fleetctl/src/commands/devices';
import { registerDeviceLabelsCommands } from '../../../fleetctl/src/commands/device-labels';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

/** fleetctl in this process (its commands as main.ts registers them), against the harness's API. */
async function fleetctl(api: ApiHarness, args: string[]) {
  const program = new Command().exitOverride();
  registerDevicesCommands(program);
  registerDeviceLabelsCommands(program);
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  process.exitCode = undefined;
  try {
    await program.parseAsync(
      [...args, '--api', api.base, ...(api.adminKey ? ['--api-key', api.adminKey] : [])],
      {
        from: 'user',
      },
    );
    return { code: process.exitCode ?? 0, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
  }
}

describe('device labels and attributes over HTTP (Nest app, PostgreSQL, projector)', () => {
  let api: ApiHarness;
  let pool: Pool;

  beforeAll(async () => {
    api = await startFleetApi('fleet_api_device_labels', { projector: true, broker: false });
    pool = api.app.get<Pool>(PG_POOL);
    for (const [deviceId, site] of [
      ['lbl-1', 'depot-1'],
      ['lbl-2', 'depot-1'],
    ]) {
      const res = await api.request('POST', '/api/v1/devices', { deviceId, deviceClass: 'vehicle', site });
      expect(res.status).toBe(201);
    }
  }, 60_000);
  afterAll(() => api?.close());

  /** GET until the read model shows what `ready` wants (the projector follows within moments). */
  const eventually = async (url: string, ready: (body: Body) => boolean) => {
    for (const deadline = Date.now() + 20_000; ;) {
      const res = await api.get(url);
      if (res.status === 200 && ready(res.body)) return res;
      if (Date.now() > deadline) throw new Error(`${url} never got there: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const patch = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    api.request('PATCH', url, body, headers);

  it('replaces labels, answers with the new version as ETag, and honours If-Match', async () => {
    const before = await eventually('/api/v1/devices/lbl-1', () => true);
    expect(before.headers.get('etag')).toBe('"1"');

    const res = await patch(
      '/api/v1/devices/lbl-1/labels',
      { site: 'depot-2', tags: ['pilot', 'eu'] },
      {
        'if-match': '"1"',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      deviceId: 'lbl-1',
      version: 2,
      changed: true,
      site: 'depot-2',
      tags: ['eu', 'pilot'],
    });
    expect(res.headers.get('etag')).toBe('"2"');

    // A stale If-Match: 412, and nothing is written.
    const stale = await patch('/api/v1/devices/lbl-1/labels', { site: 'depot-3' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('PRECONDITION_FAILED');
    const malformed = await patch('/api/v1/devices/lbl-1/labels', { site: 'depot-3' }, { 'if-match': 'v1' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('INVALID_IF_MATCH');

    // The same labels again: nothing recorded, the version stays.
    const repeat = await patch(
      '/api/v1/devices/lbl-1/labels',
      { tags: ['eu', 'pilot'] },
      { 'if-match': '"2"' },
    );
    expect(repeat.status).toBe(200);
    expect(repeat.body).toMatchObject({ version: 2, changed: false, site: 'depot-2', tags: ['eu', 'pilot'] });

    const after = await eventually('/api/v1/devices/lbl-1', (d) => d.site === 'depot-2');
    expect(after.body.tags).toEqual(['eu', 'pilot']);
    expect(after.headers.get('etag')).toBe('"2"');
  });

  it('sets and removes attributes, shows them in the device views and filters by them', async () => {
    const set = await patch('/api/v1/devices/lbl-1/attributes', {
      set: { owner: 'ops-north', 'rack.position': 'b3', note: 'a:b' },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      deviceId: 'lbl-1',
      version: 3,
      changed: true,
      attributes: { note: 'a:b', owner: 'ops-north', 'rack.position': 'b3' },
    });
    expect(set.headers.get('etag')).toBe('"3"');
    const other = await patch('/api/v1/devices/lbl-2/attributes', { set: { owner: 'ops-south' } });
    expect(other.status).toBe(200);

    const removed = await patch(
      '/api/v1/devices/lbl-1/attributes',
      { remove: ['rack.position'], set: { owner: 'ops-north' } },
      { 'if-match': '"3"' },
    );
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({
      version: 4,
      changed: true,
      attributes: { note: 'a:b', owner: 'ops-north' },
    });

    // Both writes projected: the owner is there (first write) and rack.position gone (second).
    const device = await eventually(
      '/api/v1/devices/lbl-1',
      (d) => d.attributes?.owner === 'ops-north' && !('rack.position' in d.attributes),
    );
    expect(device.body.attributes).toEqual({ note: 'a:b', owner: 'ops-north' });
    expect(device.headers.get('etag')).toBe('"4"');
    await eventually('/api/v1/devices/lbl-2', (d) => d.attributes?.owner === 'ops-south');

    const ids = async (query: string) => {
      const res = await api.get(`/api/v1/devices?${query}`);
      expect(res.status).toBe(200);
      return (res.body.items as Body[]).map((d) => d.id);
    };
    expect(await ids('attr=owner:ops-north')).toEqual(['lbl-1']);
  });

  it('filters by several attributes (all must match) and by a value holding a colon', async () => {
    const ids = async (query: string) =>
      (await api.get(`/api/v1/devices?${query}`)).body.items?.map((d: Body) => d.id);
    expect(await ids('attr=note:a:b')).toEqual(['lbl-1']);
    expect(await ids('attr=owner:ops-north&attr=note:a:b')).toEqual(['lbl-1']);
    expect(await ids('attr=owner:ops-north&attr=owner:ops-south')).toEqual([]);
    expect(await ids('attr=owner:ops-south&site=depot-1')).toEqual(['lbl-2']);
    const bad = await api.get('/api/v1/devices?attr=Owner:x');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it.each([
    ['an upper-case key', { set: { Owner: 'x' } }, 422, 'INVALID_DEVICE_ATTRIBUTES'],
    ['a value of 257 characters', { set: { owner: 'x'.repeat(257) } }, 422, 'INVALID_DEVICE_ATTRIBUTES'],
    ['a bad key to remove', { remove: ['no such key!'] }, 422, 'INVALID_DEVICE_ATTRIBUTES'],
    ['a value that is not a string', { set: { owner: 42 } }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { put: { owner: 'x' } }, 400, 'VALIDATION_FAILED'],
    [
      'the 65th attribute',
      { set: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      422,
      'DEVICE_ATTRIBUTE_LIMIT_EXCEEDED',
    ],
  ])('refuses %s', async (_what, body, status, code) => {
    const res = await patch('/api/v1/devices/lbl-2/attributes', body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  it('refuses bad labels, unknown devices and bad ids', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/api/v1/devices/lbl-2/labels', { site: '' }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/devices/lbl-2/labels', { tags: ['x'.repeat(65)] }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/devices/lbl-2/labels', { tags: 'eu' }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/devices/nobody/labels', { site: 'x' }, 404, 'DEVICE_NOT_PROVISIONED'],
      ['/api/v1/devices/nobody/attributes', { set: { a: 'b' } }, 404, 'DEVICE_NOT_PROVISIONED'],
      ['/api/v1/devices/-bad/attributes', { set: { a: 'b' } }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [url, body, status, code] of cases) {
      const res = await patch(url, body);
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status, code });
    }
    const notJson = await patch('/api/v1/devices/lbl-2/labels', '{"site":', {
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('MALFORMED_JSON');
  });

  it('fleetctl devices label and devices attr, with --json and with --if-match', async () => {
    const label = await fleetctl(api, [
      'devices',
      'label',
      'lbl-2',
      '--site',
      'depot-9',
      '--tag',
      'b',
      '--tag',
      'a',
    ]);
    expect(label.code).toBe(0);
    expect(label.stdout).toMatch(/^lbl-2: site depot-9, tags a, b \(version \d+\)$/);

    const attr = await fleetctl(api, [
      'devices',
      'attr',
      'lbl-2',
      '--set',
      'owner=ops=west',
      '--remove',
      'gone',
      '--json',
    ]);
    expect(attr.code).toBe(0);
    const answer = JSON.parse(attr.stdout) as Body;
    expect(answer).toMatchObject({ deviceId: 'lbl-2', changed: true, attributes: { owner: 'ops=west' } });

    const stale = await fleetctl(api, [
      'devices',
      'attr',
      'lbl-2',
      '--set',
      'x=y',
      '--if-match',
      String(answer.version - 1),
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^fleetctl: PRECONDITION_FAILED: /);
    const fresh = await fleetctl(api, [
      'devices',
      'attr',
      'lbl-2',
      '--set',
      'x=y',
      '--if-match',
      String(answer.version),
    ]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('  x=y');

    const usage = await fleetctl(api, ['devices', 'attr', 'lbl-2', '--set', 'novalue']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toBe('fleetctl: --set takes key=value, not "novalue"');
    const nothing = await fleetctl(api, ['devices', 'label', 'lbl-2']);
    expect(nothing.code).toBe(1);
  });

  it('records the actor in the metadata of the events', async () => {
    const { rows } = await pool.query<{ event_type: string; actor: Body | null }>(
      `SELECT event_type, metadata->'actor' AS actor FROM hf.events
        WHERE stream_id = 'hypervisor-lbl-1' AND event_type IN ('DeviceLabelsUpdated', 'DeviceAttributesChanged')
        ORDER BY stream_position`,
    );
    expect(rows.map((r) => r.event_type)).toEqual([
      'DeviceLabelsUpdated',
      'DeviceAttributesChanged',
      'DeviceAttributesChanged',
    ]);
    for (const r of rows) {
      expect(r.actor).toMatchObject({ subject: expect.any(String), credentialId: expect.any(String) });
    }
  });
});
