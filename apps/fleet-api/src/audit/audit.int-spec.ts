import { Command } from 'commander';
import type { Pool } from 'pg';
import { MarkDeviceOnline } from '@hyperfleet/domain';
import { CommandBus } from '@nestjs/cqrs';
import { PG_POOL } from '@hyperfleet/platform';
import { registerAuditCommand } from '../../../fleetctl/src/commands/audit';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';

/** fleetctl audit in this process, against the harness's API. */
async function fleetctlAudit(api: ApiHarness, args: string[]) {
  const program = new Command().exitOverride();
  registerAuditCommand(program);
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  process.exitCode = undefined;
  try {
    await program.parseAsync(
      ['audit', ...args, '--api', api.base, ...(api.adminKey ? ['--api-key', api.adminKey] : [])],
      { from: 'user' },
    );
    return { code: process.exitCode ?? 0, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
  }
}

describe('GET /api/v1/audit (Nest app, PostgreSQL event store)', () => {
  let api: ApiHarness;
  let pool: Pool;
  let startedAt: string;

  const audit = async (query = '') => {
    const res = await api.get(`/api/v1/audit${query ? `?${query}` : ''}`);
    expect(res.status).toBe(200);
    return res.body as { items: Body[]; nextCursor: string | null };
  };

  beforeAll(async () => {
    api = await startFleetApi('fleet_api_audit', { broker: false, projector: true });
    pool = api.app.get<Pool>(PG_POOL);
    startedAt = new Date(Date.now() - 1000).toISOString();
    const ok = (res: { status: number; body: Body }, status: number) => {
      expect({ status: res.status, body: res.body }).toMatchObject({ status });
    };
    for (const deviceId of ['aud-1', 'aud-2']) {
      ok(
        await api.request(
          'POST',
          '/api/v1/devices',
          { deviceId, deviceClass: 'vehicle', site: 'depot-1' },
          { 'x-request-id': `req-provision-${deviceId}` },
        ),
        201,
      );
    }
    ok(
      await api.request(
        'PATCH',
        '/api/v1/devices/aud-1/labels',
        { tags: ['eu'] },
        { 'x-request-id': 'req-label' },
      ),
      200,
    );
    ok(await api.request('PATCH', '/api/v1/devices/aud-1/attributes', { set: { owner: 'ops' } }), 200);
    ok(await api.request('PATCH', '/api/v1/devices/aud-2/attributes', { set: { owner: 'lab' } }), 200);
    // A device fact with no operator behind it: not in the audit trail.
    await api.app.get(CommandBus).execute(new MarkDeviceOnline({ deviceId: 'aud-1' }));
  }, 60_000);
  afterAll(() => api?.close());

  it('lists what operators did, newest first, with the actor, command, device and request id', async () => {
    const { items, nextCursor } = await audit();
    expect(nextCursor).toBeNull();
    const ours = items.filter((e) => e.deviceId?.startsWith('aud-'));
    expect(ours.map((e) => [e.eventType, e.deviceId])).toEqual([
      ['DeviceAttributesChanged', 'aud-2'],
      ['DeviceAttributesChanged', 'aud-1'],
      ['DeviceLabelsUpdated', 'aud-1'],
      ...(['aud-2', 'aud-1'] as const).flatMap((d) => [
        // The credential is recorded after the device is provisioned.
        ...(items.some((e) => e.eventType === 'DeviceCredentialIssued')
          ? [['DeviceCredentialIssued', d]]
          : []),
        ['DeviceProvisioned', d],
      ]),
    ]);
    const positions = items.map((e) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a > b ? -1 : 1))).toEqual(positions);
    expect(items.some((e) => e.eventType === 'DeviceWentOnline')).toBe(false);

    const label = ours.find((e) => e.eventType === 'DeviceLabelsUpdated')!;
    expect(label).toEqual({
      position: expect.stringMatching(/^\d+$/),
      at: expect.any(String),
      eventType: 'DeviceLabelsUpdated',
      command: 'UpdateDeviceLabels',
      streamId: 'hypervisor-aud-1',
      streamPosition: 2,
      deviceId: 'aud-1',
      actor: {
        subject: expect.any(String),
        credentialKind: expect.any(String),
        credentialId: expect.any(String),
      },
      requestId: api.adminKey ? 'req-label' : expect.anything(),
      summary: { deviceId: 'aud-1', site: 'depot-1', tags: ['eu'], at: expect.any(String) },
    });
    expect(Date.parse(label.at)).toBeGreaterThanOrEqual(Date.parse(startedAt));
  });

  it('filters by actor, credential, device, action (event type or command) and time', async () => {
    const [first] = (await audit('device=aud-1&action=DeviceLabelsUpdated')).items;
    const { subject, credentialId } = first!.actor as { subject: string; credentialId: string };

    expect(
      (await audit(`actor=${encodeURIComponent(subject)}&device=aud-2`)).items.map((e) => e.eventType),
    ).toEqual(expect.arrayContaining(['DeviceAttributesChanged', 'DeviceProvisioned']));
    expect((await audit('actor=nobody')).items).toEqual([]);
    expect(
      (
        await audit(
          `credentialId=${encodeURIComponent(credentialId)}&device=aud-1&action=SetDeviceAttributes`,
        )
      ).items,
    ).toHaveLength(1);
    expect((await audit('credentialId=none-such')).items).toEqual([]);

    const byCommand = await audit('action=SetDeviceAttributes');
    expect(byCommand.items.map((e) => e.deviceId)).toEqual(['aud-2', 'aud-1']);
    const byType = await audit('action=DeviceAttributesChanged&action=DeviceLabelsUpdated&device=aud-1');
    expect(byType.items.map((e) => e.eventType)).toEqual(['DeviceAttributesChanged', 'DeviceLabelsUpdated']);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`from=${encodeURIComponent(future)}`)).items).toEqual([]);
    // `from` inclusive, `to` exclusive, on the time the event was recorded.
    const at = encodeURIComponent(first!.at as string);
    const before = await audit(`device=aud-1&to=${at}`);
    expect(new Set(before.items.map((e) => e.eventType))).toEqual(
      new Set(
        before.items.length === 2 ? ['DeviceProvisioned', 'DeviceCredentialIssued'] : ['DeviceProvisioned'],
      ),
    );
    const since = await audit(`device=aud-1&from=${at}&to=${encodeURIComponent(future)}`);
    expect(since.items.map((e) => e.eventType)).toEqual(['DeviceAttributesChanged', 'DeviceLabelsUpdated']);
  });

  it('pages by position with a cursor', async () => {
    const all = (await audit('limit=500')).items.map((e) => e.position);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Body[]; nextCursor: string | null } = await audit(
        `limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.position as string));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  it.each([
    ['an unknown parameter', 'who=me', 'VALIDATION_FAILED'],
    ['a bad time', 'from=yesterday', 'VALIDATION_FAILED'],
    ['from after to', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'VALIDATION_FAILED'],
    ['a bad action', 'action=drop%20table', 'VALIDATION_FAILED'],
    ['a limit too large', 'limit=501', 'VALIDATION_FAILED'],
    ['a forged cursor', 'cursor=abc', 'INVALID_CURSOR'],
  ])('refuses %s with 400', async (_what, query, code) => {
    const res = await api.get(`/api/v1/audit?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(code);
  });

  it('needs audit:read: an operator key is refused (403), and its own writes are audited under its name', async () => {
    const created = await api.request('POST', '/api/v1/api-keys', {
      name: 'ops-audit-test',
      role: 'operator',
    });
    expect(created.status).toBe(201);
    const operator = { authorization: `Bearer ${created.body.key as string}` };
    const refused = await api.request('GET', '/api/v1/audit', undefined, operator);
    expect(refused.status).toBe(403);
    const write = await api.request('PATCH', '/api/v1/devices/aud-2/labels', { tags: ['ops'] }, operator);
    expect(write.status).toBe(200);
    const { items } = await audit('actor=ops-audit-test');
    expect(items.map((e) => [e.eventType, e.deviceId, e.actor.credentialKind])).toEqual([
      ['DeviceLabelsUpdated', 'aud-2', 'api-key'],
    ]);
    // The key's creation is audited too, under the admin who made it.
    const keyEvents = await audit('action=ApiKeyCreated');
    expect(keyEvents.items.some((e) => e.summary.name === 'ops-audit-test')).toBe(true);
  });

  it('leaves out, for a scoped credential, the devices outside its scope', async () => {
    const site2 = await api.request('POST', '/api/v1/devices', {
      deviceId: 'aud-3',
      deviceClass: 'vehicle',
      site: 'depot-2',
    });
    expect(site2.status).toBe(201);
    const created = await api.request('POST', '/api/v1/api-keys', {
      name: 'auditor-depot-2',
      role: 'admin',
      scope: { sites: ['depot-2'] },
    });
    expect(created.status).toBe(201);
    const scoped = { authorization: `Bearer ${created.body.key as string}` };
    // The scope is read from the inventory read model: wait until it knows aud-3.
    for (const deadline = Date.now() + 20_000; ;) {
      const res = await api.request('GET', '/api/v1/audit?device=aud-3', undefined, scoped);
      expect(res.status).toBe(200);
      if (res.body.items.length) break;
      if (Date.now() > deadline) throw new Error('aud-3 never showed up for the scoped key');
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await api.request('GET', '/api/v1/audit?limit=500', undefined, scoped);
    const devices = new Set((res.body.items as Body[]).map((e) => e.deviceId));
    expect(devices.has('aud-3')).toBe(true);
    expect(devices.has('aud-1')).toBe(false);
    expect(devices.has(null)).toBe(true); // API key events stay
  });

  it('uses the partial audit indexes', async () => {
    const { rows } = await pool.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'hf' AND tablename = 'events' AND indexname LIKE 'audit_%'`,
    );
    expect(rows.map((r) => r.indexname).sort()).toEqual([
      'audit_events_command_idx',
      'audit_events_credential_idx',
      'audit_events_device_idx',
      'audit_events_position_idx',
      'audit_events_recorded_at_idx',
      'audit_events_subject_idx',
      'audit_events_type_idx',
    ]);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = await client.query(
        `EXPLAIN SELECT global_position FROM hf.events e
          WHERE e.metadata ? 'actor' AND (e.metadata->>'deviceId') = 'aud-1' ORDER BY e.global_position DESC LIMIT 10`,
      );
      expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toMatch(
        /audit_events_/,
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('fleetctl audit: filters, --since, --json and a one-line listing', async () => {
    const json = await fleetctlAudit(api, [
      '--device',
      'aud-1',
      '--action',
      'SetDeviceAttributes',
      '--since',
      '1h',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as Body[];
    expect(entries.map((e) => [e.eventType, e.deviceId])).toEqual([['DeviceAttributesChanged', 'aud-1']]);

    const text = await fleetctlAudit(api, ['--device', 'aud-1', '--action', 'UpdateDeviceLabels']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^\S+ {2}\S.* \[\S+\] {2}DeviceLabelsUpdated \(UpdateDeviceLabels\) {2}aud-1/,
    );

    const none = await fleetctlAudit(api, ['--actor', 'nobody']);
    expect(none.stdout).toBe('No audit entries match.');
    const bad = await fleetctlAudit(api, ['--since', 'yesterday']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^fleetctl: "yesterday" is not a duration/);
  });
});
